"""Adoption (``provisioner import``): tag an existing guest or container as this stack's.

Only guests no stack owns are adopted, and only their tags and description
change: the ownership tag is added, the marker is appended to the notes,
with the spec as read (so the next plan diffs the stack against what runs).
Storages carry their ownership in their id: adopting one would mean renaming
it, which Proxmox cannot do.
"""

from __future__ import annotations

from provisioner.core.address import Address
from provisioner.core.specs import GuestSpec
from provisioner.errors import ProviderError
from provisioner.providers.proxmox.context import Context
from provisioner.providers.proxmox.guests import Guests
from provisioner.providers.proxmox.ownership import notes_of, stack_of, user_tags


def adopt(ctx: Context, kind: Guests, address: Address, name: str) -> int:
    """Tag the guest ``name``; returns its VMID. Raises ProviderError, changing nothing,
    when there is no such guest, several, or one a stack owns."""
    facts = ctx.cluster.refresh()
    found = [g for g in facts.guests if g.kind == kind.kind and g.name == name
             and not g.template]
    if not found:
        names = sorted(g.name for g in facts.guests if g.kind == kind.kind and not g.template)
        raise ProviderError(f"{address}: no {kind.noun} named '{name}' to adopt",
                            hint="existing: " + (", ".join(names) or "none"))
    if len(found) > 1:
        ids = ", ".join(str(g.vmid) for g in found)
        raise ProviderError(f"{address}: several {kind.noun}s are named '{name}' (VMIDs {ids})",
                            hint="rename all but one in Proxmox, then import again")
    ref = found[0]
    owner = stack_of(ref.tags)
    if owner is not None:
        raise ProviderError(f"{address}: '{name}' already belongs to stack {owner}",
                            hint="only guests no stack owns can be adopted")
    what = str(address)
    view = ctx.cluster.config(ref, what)
    marker = ctx.owner.marker(address)
    spec = kind.read(view.current, ref, marker)
    slots = [disk.slot for disk in GuestSpec.of(spec).disks if disk.slot is not None]
    applied = {**spec, "_pve": {"slots": slots}}
    description = ctx.owner.description(notes_of(view.current.get("description")), address,
                                        applied)
    tags = ctx.owner.tags(user_tags(view.current.get("tags")))
    ctx.client.put(what, f"{ref.path}/config", tags=tags, description=description)
    return ref.vmid
