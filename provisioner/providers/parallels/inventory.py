"""list_managed and read-backs: the block's VMs from one bulk read, one VM after a change.

The bulk read is two LIST calls, whatever the number of VMs: ``prlctl list
--all --info --json`` (every VM's settings, devices and description, which
carries the ownership marker) and ``prlsrvctl net list --json`` (the networks
NICs may name, for the plan-time checks). A VM whose marker is another stack's,
or that sits in another stack's folder without a marker, is that stack's; any
other VM without a marker is untagged. A VM of this block that carries the
creating line, or sits in this stack's folder without any marker, is a
leftover of an interrupted create.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from provisioner.core.address import Kind
from provisioner.core.resources import LiveObject
from provisioner.errors import ObjectNotFoundError
from provisioner.providers.base import CallKind, Inventory
from provisioner.providers.kit.lastread import LastRead
from provisioner.providers.kit.macs import MacHolder, mac_holders
from provisioner.providers.kit.marker import Marker
from provisioner.providers.kit.ownership import stack_owner
from provisioner.providers.parallels.listing import Network, VmInfo, parse_networks, parse_vms
from provisioner.providers.parallels.ownership import (
    CREATING_PREFIX,
    Ownership,
    marker_in,
    stack_of_home,
)
from provisioner.providers.parallels.prlctl import Prlctl
from provisioner.providers.parallels.read import live_object


@dataclass(frozen=True)
class HostRead:
    """One bulk read: every VM, and the Mac's virtual networks."""

    vms: list[VmInfo]
    networks: list[Network]

    def by_name(self, name: str) -> VmInfo | None:
        return next((vm for vm in self.vms if vm.name == name), None)


def stack_of(vm: VmInfo) -> str | None:
    """The stack a VM belongs to: its marker's (either line), else its folder's."""
    marker = marker_in(vm.description) or marker_in(vm.description, CREATING_PREFIX)
    return marker.stack if marker is not None else stack_of_home(vm.home)


class Lister:
    """Finds one provider block's VMs; keeps the last bulk read for checks and capacity."""

    def __init__(self, prl: Prlctl, ownership: Ownership) -> None:
        self.prl = prl
        self.ownership = ownership
        self._reads = LastRead(self._read)

    def refresh(self) -> HostRead:
        return self._reads.refresh()

    def last(self) -> HostRead:
        return self._reads.last()

    def _read(self) -> HostRead:
        vms = parse_vms(self.prl.json("list", "--all", "--info", "--json"))
        return HostRead(vms, parse_networks(self.prl.srv("net", "list")))

    def inventory(self) -> Inventory:
        read = self.refresh()
        managed: list[LiveObject] = []
        leftovers: list[LiveObject] = []
        foreign: dict[str, str] = {}
        provider = self.ownership.provider
        for vm in read.vms:
            stack = stack_of(vm)
            if stack != self.ownership.stack:
                foreign[vm.name] = stack_owner(stack)
                continue
            marker = marker_in(vm.description)
            creating = marker_in(vm.description, CREATING_PREFIX)
            if creating is not None and self.ownership.owns(creating):
                leftovers.append(_leftover(vm, creating, provider))
            elif marker is not None and self.ownership.owns(marker):
                managed.append(live_object(vm, marker, provider))
            # else another block's, or killed before its first marker: the create at
            # its name finishes it
        return Inventory(managed=managed, foreign={Kind.GUEST: foreign}, leftovers=leftovers)

    def mac_holders(self) -> dict[str, MacHolder]:
        """The MACs of the NICs of every VM outside this stack (from the last read)."""
        return mac_holders((MacHolder(vm.name, stack_owner(stack)), [n.mac for n in vm.nics])
                           for vm in self.last().vms
                           if (stack := stack_of(vm)) != self.ownership.stack)

    def vm(self, name: str, what: str) -> VmInfo:
        """One VM as ``prlctl list NAME --info --json`` shows it (a READ); raises
        ObjectNotFoundError when it is gone."""
        vms = parse_vms(self.prl.json("list", name, "--info", "--json", what=what,
                                      kind=CallKind.READ))
        if not vms:
            raise ObjectNotFoundError(f"{what}: the VM is gone")
        return vms[0]

    def one(self, name: str, what: str) -> LiveObject:
        """One of this block's VMs as the next plan sees it (after a change). Raises
        ObjectNotFoundError when it is gone or not this block's."""
        vm = self.vm(name, what)
        marker = marker_in(vm.description)
        if marker is None or not self.ownership.owns(marker):
            raise ObjectNotFoundError(f"{what}: the VM has no ownership marker of this stack")
        return live_object(vm, marker, self.ownership.provider)


def _leftover(vm: VmInfo, marker: Marker, provider: str) -> LiveObject:
    attributes: dict[str, Any] = {"leftover": "interrupted create",
                                  "piece": "a VM whose create did not finish",
                                  "home": vm.home}
    return LiveObject(address=marker.address, provider=provider, name=vm.name, id=vm.uuid,
                      spec={}, attributes=attributes, running=vm.running)

