"""Fixed MACs already in use outside the stack: one plan-time check for every provider
that takes ``networks[N].mac``.

Two NICs with one MAC on one network deliver each other's frames at random, and no
hypervisor refuses it when the other NIC is another VM's. The stack's own guests
are checked against each other when it loads (``stack/macs_and_ips.py``); each
provider collects, from the bulk read it makes anyway, the MACs of the VMs that
are not this stack's, and ``mac_clashes`` names each declared MAC one of them
holds. This stack's own VMs are not holders: a guest keeps its MAC across an
update, and a MAC moving between two of the stack's guests is the stack's to
order. Pure.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from provisioner.core.address import Kind
from provisioner.core.resources import Resource

HINT = "choose another MAC, or leave mac: out to have one generated"


@dataclass(frozen=True)
class MacHolder:
    """A VM outside the stack, by name, and who owns it ("untagged" or "stack NAME")."""

    name: str
    owner: str


def mac_holders(vms: Iterable[tuple[MacHolder, Iterable[str]]]) -> dict[str, MacHolder]:
    """Lower-case MAC → the VM holding it, from (VM, its NICs' MACs) pairs; of two VMs
    with one MAC, the first by name (plans are deterministic)."""
    holders: dict[str, MacHolder] = {}
    for holder, macs in sorted(vms, key=lambda vm: vm[0].name):
        for mac in macs:
            holders.setdefault(mac.lower(), holder)
    return holders


def declares_macs(resources: Sequence[Resource]) -> bool:
    """Whether any guest fixes a NIC's MAC (otherwise there is nothing to look up)."""
    return any(nic.get("mac") for resource in resources if resource.kind is Kind.GUEST
               for nic in resource.spec.get("networks") or [])


def mac_clashes(resources: Sequence[Resource], holders: Mapping[str, MacHolder]) -> list[str]:
    """One problem per declared MAC that ``holders`` (lower-case MAC → holder) has."""
    problems = []
    for resource in resources:
        if resource.kind is not Kind.GUEST:
            continue
        for index, nic in enumerate(resource.spec.get("networks") or []):
            mac = nic.get("mac")
            holder = holders.get(str(mac).lower()) if mac else None
            if holder is not None:
                problems.append(f"{resource.address}: networks[{index}].mac {mac} is already "
                                f"used by VM '{holder.name}' ({holder.owner}); {HINT}")
    return problems
