"""list_managed and read-backs: the block's VMs from one bulk read, one VM after a change.

The bulk read is two LIST calls, whatever the number of VMs: ``list -l vms``
(every VM's settings, groups and attachments) and ``list -l hdds`` (every
disk's size). A VM in this stack's group (``ownership.py``) then costs one READ,
``getextradata VM enumerate``, for its marker; a VM in another stack's group is
foreign to it without a read, as is any VM outside a provisioner group
(untagged); the extradata reads run four at a time. A VM of this block that
carries the creating key, or sits in the group without any marker, is a
leftover of an interrupted create.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from provisioner.core.address import Kind
from provisioner.core.resources import LiveObject
from provisioner.errors import ObjectNotFoundError
from provisioner.providers.base import Inventory
from provisioner.providers.kit.lastread import LastRead
from provisioner.providers.kit.macs import MacHolder, mac_holders
from provisioner.providers.kit.marker import Marker
from provisioner.providers.kit.ownership import UNTAGGED, stack_owner
from provisioner.providers.virtualbox.listing import (
    Medium,
    VmInfo,
    extradata,
    parse_hdds,
    parse_vms,
)
from provisioner.providers.virtualbox.ownership import (
    CREATING_KEY,
    Ownership,
    marker_in,
    stack_of_groups,
)
from provisioner.providers.virtualbox.read import live_object
from provisioner.providers.virtualbox.vboxmanage import VBoxManage

READERS = 4
"""Extradata reads run at once during a bulk read."""


@dataclass(frozen=True)
class HostRead:
    """One bulk read: every VM, every disk image by UUID, and our VMs' extradata."""

    vms: list[VmInfo]
    media: dict[str, Medium]
    extra: dict[str, dict[str, str]]
    """VM UUID → its extradata (only the VMs of this stack's group)."""

    def by_name(self, name: str) -> VmInfo | None:
        return next((vm for vm in self.vms if vm.name == name), None)


class Lister:
    """Finds one provider block's VMs; keeps the last bulk read for checks and capacity."""

    def __init__(self, vbox: VBoxManage, ownership: Ownership) -> None:
        self.vbox = vbox
        self.ownership = ownership
        self._reads = LastRead(self._read)

    def refresh(self) -> HostRead:
        return self._reads.refresh()

    def last(self) -> HostRead:
        return self._reads.last()

    def _read(self) -> HostRead:
        vms = parse_vms(self.vbox.list("-l", "vms"))
        media = {medium.uuid: medium for medium in parse_hdds(self.vbox.list("-l", "hdds"))}
        ours = [vm for vm in vms if stack_of_groups(vm.groups) == self.ownership.stack]
        # one VBoxManage process each: run a few at once (VBoxSVC serves them in parallel)
        with ThreadPoolExecutor(max_workers=READERS) as pool:
            extra = dict(zip((vm.uuid for vm in ours),
                             pool.map(self.extradata, (vm.name for vm in ours)), strict=True))
        return HostRead(vms, media, extra)

    def extradata(self, name: str) -> dict[str, str]:
        return extradata(self.vbox.read("getextradata", name, "enumerate", what=f"VM '{name}'"))

    def inventory(self) -> Inventory:
        read = self.refresh()
        managed: list[LiveObject] = []
        leftovers: list[LiveObject] = []
        foreign: dict[str, str] = {}
        provider = self.ownership.provider
        for vm in read.vms:
            stack = stack_of_groups(vm.groups)
            if stack != self.ownership.stack:
                foreign[vm.name] = UNTAGGED if stack is None else stack_owner(stack)
                continue
            extra = read.extra.get(vm.uuid, {})
            marker, creating = marker_in(extra), marker_in(extra, CREATING_KEY)
            if creating is not None and self.ownership.owns(creating):
                leftovers.append(_leftover(vm, creating, provider))
            elif marker is not None and self.ownership.owns(marker):
                managed.append(live_object(vm, read.media, marker, provider))
            elif marker is None and creating is None:
                continue  # killed before its first marker: the create at its name finishes it
        return Inventory(managed=managed, foreign={Kind.GUEST: foreign}, leftovers=leftovers)

    def mac_holders(self) -> dict[str, MacHolder]:
        """The MACs of the NICs of every VM outside this stack (from the last read)."""
        found = []
        for vm in self.last().vms:
            stack = stack_of_groups(vm.groups)
            if stack != self.ownership.stack:
                owner = UNTAGGED if stack is None else stack_owner(stack)
                found.append((MacHolder(vm.name, owner), [nic.mac for nic in vm.nics]))
        return mac_holders(found)

    def one(self, name: str, what: str) -> LiveObject:
        """One of this block's VMs as the next plan sees it (after a change): its settings
        and extradata (READ calls) and the disk list (LIST). Raises ObjectNotFoundError
        when it is gone or not this block's."""
        vms = parse_vms(self.vbox.read("showvminfo", name, what=what))
        if not vms:
            raise ObjectNotFoundError(f"{what}: the VM is gone")
        media = {m.uuid: m for m in parse_hdds(self.vbox.list("-l", "hdds"))}
        marker = marker_in(self.extradata(name))
        if marker is None or not self.ownership.owns(marker):
            raise ObjectNotFoundError(f"{what}: the VM has no ownership marker of this stack")
        return live_object(vms[0], media, marker, self.ownership.provider)


def _leftover(vm: VmInfo, marker: Marker, provider: str) -> LiveObject:
    attributes: dict[str, Any] = {"leftover": "interrupted create",
                                  "piece": "a VM whose create did not finish",
                                  "config_file": vm.config_file}
    return LiveObject(address=marker.address, provider=provider, name=vm.name, id=vm.uuid,
                      spec={}, attributes=attributes, running=vm.running)
