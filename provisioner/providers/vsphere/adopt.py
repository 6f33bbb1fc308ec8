"""``provisioner import``: tag an existing, untagged VM as a guest of this stack.

The VM is found by name in the last bulk read; it must be the only VM of that
name, not a template, and carry no ownership tag. Tagging writes the custom
attribute (vCenter) or appends the marker to the notes (ESXi) and changes
nothing else: the next plan shows how the VM differs from the stack. If this
raises, the VM is unchanged.
"""

from __future__ import annotations

from pyVmomi import vim

from provisioner.core.address import Address
from provisioner.errors import ProviderError
from provisioner.providers.vsphere.changes import Changer, label
from provisioner.providers.vsphere.client import VsphereClient
from provisioner.providers.vsphere.inventory import FactsCache, Lister
from provisioner.providers.vsphere.ownership import with_annotation


def adopt(client: VsphereClient, lister: Lister, cache: FactsCache, changer: Changer,
          address: Address, name: str) -> str:
    """The adopted VM's moid."""
    what = label(address, name)
    facts = cache.refresh()
    found = [record for record in facts.vms if record.name == name]
    if not found:
        raise ProviderError(f"{what}: no VM named '{name}' exists",
                            hint="check the name in the vSphere client")
    if len(found) > 1:
        raise ProviderError(f"{what}: {len(found)} VMs are named '{name}'",
                            hint="rename all but one, then import again")
    record = found[0]
    if record.template:
        raise ProviderError(f"{what}: '{name}' is a template, not a VM",
                            hint="clone it with `clone:` instead")
    notes, marker = lister.marker_of(record, facts)
    if marker is not None:
        owner = "this stack" if marker.stack == lister.ownership.stack else \
            f"stack {marker.stack}"
        raise ProviderError(f"{what}: the VM is already owned by {owner} ({marker.address})",
                            hint="only untagged VMs can be imported")
    tag = lister.ownership.marker(address, {})
    if client.is_vcenter:
        changer.tag(record.moid, tag, what)
    else:
        vm = client.ref(vim.VirtualMachine, record.moid)
        spec = vim.vm.ConfigSpec(annotation=with_annotation(notes, tag))
        client.run_task(what, lambda _s: vm.ReconfigVM_Task(spec=spec))
    return record.moid
