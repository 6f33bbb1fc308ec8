"""Values the stack fixes that must be unique on the cluster: VMIDs and MACs.

A fixed VMID (``options.vmid``) that two of the stack's guests share, that
every instance of a counted guest gets, that a ``create_before_destroy``
replacement would give its new guest while the old one has it, or that the
cluster already gives to another guest, container or template makes the apply
fail half-way ("VM 3000 already exists"). A fixed MAC (``networks[N].mac``) that a guest outside the
stack already has gives two NICs one MAC, which Proxmox accepts without a
word. Each is a plan-time problem at the line that fixes the value, naming the
holder. A guest's own VMID and MACs (this stack's guest at the same address)
are no clash.

The VMIDs come from the listing the plan made. The MACs of guests outside
the stack are in their configs only: they are read only when the stack fixes
a MAC, one READ call per guest and container that is not this stack's
(templates aside: they never run, and a clone gets new MACs), at most
``read_parallel`` at once: Proxmox has no bulk read of configs.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from provisioner.core.address import Address, Kind
from provisioner.core.problems import Problem
from provisioner.core.resources import Resource
from provisioner.errors import ProviderError
from provisioner.providers.base import CallKind
from provisioner.providers.kit.macs import HINT, first_holders, fixed_macs
from provisioner.providers.proxmox.context import Context
from provisioner.providers.proxmox.facts import GuestRef
from provisioner.providers.proxmox.nics import macs_of
from provisioner.providers.proxmox.ownership import stack_of
from provisioner.providers.proxmox.specs import options_of

VMID_HINT = "choose another VMID, or leave options.vmid out to have one allocated"
COUNTED_VMID_HINT = ("every instance of a counted guest gets this VMID: leave options.vmid "
                     "out to have one allocated to each")
BOTH_AT_ONCE_HINT = ("leave options.vmid out, or drop create_before_destroy (a replacement "
                     "then deletes the old guest first)")


def fixed_vmids(resources: Iterable[Resource]) -> dict[Address, int]:
    """The VMID each guest and container fixes (``options.vmid``)."""
    found = {}
    for resource in resources:
        if resource.kind in (Kind.GUEST, Kind.CONTAINER) and \
                (vmid := options_of(resource).vmid):
            found[resource.address] = vmid
    return found


def vmid_clashes(ctx: Context, resources: Sequence[Resource]) -> list[Problem]:
    """Fixed VMIDs that another declared resource, or another object of the cluster,
    has."""
    problems: list[Problem] = []
    first: dict[int, Resource] = {}
    by_vmid = {ref.vmid: ref for ref in ctx.cluster.facts.guests}
    declared = {r.address: r for r in resources}
    for address, vmid in fixed_vmids(resources).items():
        resource = declared[address]
        other = first.setdefault(vmid, resource)
        if other is not resource:
            counted = other.position is not None and other.position == resource.position
            problems.append(Problem(f"{vmid} is also {other.address}'s", address, "options.vmid",
                                    hint=COUNTED_VMID_HINT if counted else VMID_HINT))
            continue
        if resource.lifecycle.create_before_destroy:
            problems.append(Problem(f"{vmid} would be the old and the new guest's at once "
                                    "(lifecycle.create_before_destroy)", address,
                                    "options.vmid", hint=BOTH_AT_ONCE_HINT))
            continue
        ref = by_vmid.get(vmid)
        if ref is not None and ctx.cluster.owned.get(vmid) != address:
            problems.append(Problem(f"{vmid} is already used by {holder(ctx, ref)}", address,
                                    "options.vmid", hint=VMID_HINT))
    return problems


def mac_clashes(ctx: Context, resources: Sequence[Resource]) -> list[Problem]:
    """Fixed MACs that a guest or container outside the stack has."""
    declared = fixed_macs(resources, (Kind.GUEST, Kind.CONTAINER))
    if not declared:
        return []
    holders = _mac_holders(ctx)
    return [Problem(f"{fixed.mac} is already used by {holder(ctx, ref)}",
                    fixed.resource.address, fixed.path, hint=HINT)
            for fixed in declared if (ref := holders.get(fixed.mac.lower())) is not None]


def holder(ctx: Context, ref: GuestRef) -> str:
    """``VM 'legacy' (untagged, VMID 120 on pve1)``: what holds a value, and whose it is."""
    noun = "template" if ref.template else "container" if ref.kind == "lxc" else "VM"
    owner = stack_of(ref.tags)
    address = ctx.cluster.owned.get(ref.vmid)
    whose = (f"{address} of this stack" if address is not None
             else "untagged" if owner is None else f"stack {owner}")
    return f"{noun} '{ref.name}' ({whose}, VMID {ref.vmid} on {ref.node})"


def _mac_holders(ctx: Context) -> dict[str, GuestRef]:
    """Lower-case MAC → the guest or container outside the stack that has it (of two,
    the lower VMID: plans are deterministic)."""
    refs = sorted((ref for ref in ctx.cluster.facts.guests
                   if not ref.template and ref.vmid not in ctx.cluster.owned), key=lambda r: r.vmid)
    if not refs:
        return {}
    workers = min(ctx.settings.read_parallel, len(refs))
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="pve-macs") as pool:
        configs = list(pool.map(lambda ref: _config(ctx, ref), refs))
    return first_holders((ref, macs_of(config)) for ref, config in zip(refs, configs,
                                                                       strict=True))


def _config(ctx: Context, ref: GuestRef) -> Mapping[str, Any]:
    """A guest's config, or nothing when it cannot be read (gone since the listing, on
    an offline node, not visible to the token): its MACs are then not checked."""
    try:
        config: Mapping[str, Any] = ctx.client.get(
            CallKind.READ, f"NICs of {ref.kind} {ref.vmid}", f"{ref.path}/config")
    except ProviderError:
        return {}
    return config or {}
