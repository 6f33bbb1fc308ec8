"""``provisioner import``: tag an existing, untagged VM as a guest of this stack.

The VM is found by name in a fresh bulk read; it must be the only VM of that
name (not a template, snapshot or control domain) and carry no ownership
marker. Adopting writes the marker into ``other_config``, adds the stack's tag
and marks the VM's own disks as the guest's; nothing else changes: the next
plan shows how the VM differs from the stack. If this raises before the first
write, the VM is unchanged.
"""

from __future__ import annotations

from provisioner.core.address import Address
from provisioner.errors import ProviderError
from provisioner.providers.xenserver.devices import VmDevices
from provisioner.providers.xenserver.guests import Guests, label
from provisioner.providers.xenserver.ownership import OWNER_KEY, creating_marker, encode, marker_of


def adopt(guests: Guests, address: Address, name: str) -> str:
    """The adopted VM's reference."""
    what = label(address, name)
    pool = guests.cache.refresh()
    found = [(ref, vm) for ref, vm in pool.vms() if vm.get("name_label") == name]
    if not found:
        kind = "a template" if name in pool.templates() else "no VM"
        raise ProviderError(f"{what}: '{name}' is {kind}" if kind != "no VM" else
                            f"{what}: no VM named '{name}' exists",
                            hint="check the name with `xe vm-list`")
    if len(found) > 1:
        raise ProviderError(f"{what}: {len(found)} VMs are named '{name}'",
                            hint="rename all but one, then import again")
    ref, vm = found[0]
    marker = marker_of(vm) or creating_marker(vm)
    if marker is not None:
        owner = "this stack" if marker.stack == guests.ownership.stack else \
            f"stack {marker.stack}"
        raise ProviderError(f"{what}: the VM is already owned by {owner} ({marker.address})",
                            hint="only untagged VMs can be imported")
    guests.vm_settings.put_other(ref, OWNER_KEY, encode(guests.ownership.marker(address)), what)
    guests.vm_settings.tag(ref, guests.ownership.stack, what)
    VmDevices(guests.client, guests.ownership, ref, what).tag_disks(address)
    return ref
