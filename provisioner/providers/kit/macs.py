"""Fixed MACs already in use outside the stack: the plan-time check of every provider
that takes ``networks[N].mac``.

Two NICs with one MAC on one network deliver each other's frames at random, and no
hypervisor refuses it when the other NIC is another VM's. The stack's own guests
are checked against each other when it loads (``stack/macs_and_ips.py``); each
provider collects the MACs of the VMs that are not this stack's (from the bulk
read it makes anyway, or, where the hypervisor has none, only when
``fixed_macs`` finds one declared), and each declared MAC one of them holds is a
problem. This stack's own VMs are not holders: a guest keeps its MAC across an
update, and a MAC moving between two of the stack's guests is the stack's to
order. Pure.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import TypeVar

from provisioner.core.address import Kind
from provisioner.core.problems import Problem
from provisioner.core.resources import Resource
from provisioner.core.specs import indexed_nics

H = TypeVar("H")
HINT = "choose another MAC, or leave mac: out to have one generated"


@dataclass(frozen=True)
class MacHolder:
    """A VM outside the stack, by name, and who owns it ("untagged" or "stack NAME")."""

    name: str
    owner: str


@dataclass(frozen=True)
class FixedMac:
    """A MAC the stack fixes: ``networks[index].mac`` of ``resource``."""

    resource: Resource
    index: int
    mac: str

    @property
    def path(self) -> str:
        return f"networks[{self.index}].mac"


def fixed_macs(resources: Sequence[Resource],
               kinds: Collection[Kind] = (Kind.GUEST,)) -> list[FixedMac]:
    """Every MAC the resources of ``kinds`` fix, in declaration order."""
    return [FixedMac(resource, index, nic.mac)
            for resource in resources if resource.kind in kinds
            for index, nic in indexed_nics(resource.spec) if nic.mac]


def first_holders(vms: Iterable[tuple[H, Iterable[str]]]) -> dict[str, H]:
    """Lower-case MAC → the VM holding it, from (VM, its NICs' MACs) pairs; of two VMs
    with one MAC, the first given (callers order them: plans are deterministic)."""
    holders: dict[str, H] = {}
    for holder, macs in vms:
        for mac in macs:
            holders.setdefault(mac.lower(), holder)
    return holders


def mac_holders(vms: Iterable[tuple[MacHolder, Iterable[str]]]) -> dict[str, MacHolder]:
    """``first_holders`` of VMs ordered by name."""
    return first_holders(sorted(vms, key=lambda vm: vm[0].name))


def declares_macs(resources: Sequence[Resource]) -> bool:
    """Whether any guest fixes a NIC's MAC (otherwise there is nothing to look up)."""
    return bool(fixed_macs(resources))


def mac_clashes(resources: Sequence[Resource],
                holders: Mapping[str, MacHolder]) -> list[Problem]:
    """One problem per guest's declared MAC that ``holders`` (lower-case MAC → holder) has."""
    return [Problem(f"{fixed.mac} is already used by VM '{holder.name}' ({holder.owner})",
                    fixed.resource.address, fixed.path, hint=HINT)
            for fixed in fixed_macs(resources)
            if (holder := holders.get(fixed.mac.lower())) is not None]
