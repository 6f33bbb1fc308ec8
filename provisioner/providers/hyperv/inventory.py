"""list_managed and read-backs: the block's VMs from one bulk read, one VM after a change.

The bulk read is one LIST call, whatever the number of VMs: the ``INVENTORY``
script (``listing.py``) returns the host, its switches and every VM with its
disks, adapters, DVD drives and Notes, where the marker is (``ownership.py``). A VM
whose Notes carry this block's creating line is a leftover of an interrupted create;
one with another stack's marker, or none, is foreign (its name is taken).
"""

from __future__ import annotations

import threading
from typing import Any

from provisioner.core.address import Kind
from provisioner.core.resources import LiveObject
from provisioner.errors import ObjectNotFoundError
from provisioner.providers.base import Inventory
from provisioner.providers.hyperv.listing import (
    INVENTORY,
    HostRead,
    VmInfo,
    one_vm,
    parse_inventory,
    parse_vms,
)
from provisioner.providers.hyperv.ownership import marker_in
from provisioner.providers.hyperv.powershell import PowerShell
from provisioner.providers.hyperv.read import live_object, mac_text
from provisioner.providers.kit.macs import MacHolder, mac_holders
from provisioner.providers.kit.marker import Marker
from provisioner.providers.kit.ownership import Ownership


class Lister:
    """Finds one provider block's VMs; keeps the last bulk read for checks and capacity."""

    def __init__(self, ps: PowerShell, ownership: Ownership) -> None:
        self.ps = ps
        self.ownership = ownership
        self._last: HostRead | None = None
        self._lock = threading.Lock()

    def refresh(self) -> HostRead:
        try:
            read = parse_inventory(self.ps.list(INVENTORY))
        except (ValueError, KeyError, TypeError) as exc:
            raise ObjectNotFoundError(f"the Hyper-V inventory read printed no JSON ({exc})") \
                from None
        with self._lock:
            self._last = read
        return read

    def last(self) -> HostRead:
        with self._lock:
            found = self._last
        return found if found is not None else self.refresh()

    def inventory(self) -> Inventory:
        read = self.refresh()
        managed: list[LiveObject] = []
        leftovers: list[LiveObject] = []
        foreign: dict[str, str] = {}
        provider = self.ownership.provider
        for vm in read.vms:
            marker = marker_in(vm.notes)
            creating = marker_in(vm.notes, creating=True)
            if creating is not None and self.ownership.owns(creating):
                leftovers.append(_leftover(vm, creating, provider))
            elif marker is not None and self.ownership.owns(marker):
                managed.append(live_object(vm, marker, provider))
            elif (stranger := self.ownership.stranger(marker or creating)) is not None:
                foreign[vm.name] = stranger
        return Inventory(managed=managed, foreign={Kind.GUEST: foreign}, leftovers=leftovers)

    def mac_holders(self) -> dict[str, MacHolder]:
        """The MACs of the adapters of every VM outside this stack (from the last read)."""
        found = []
        for vm in self.last().vms:
            owner = self.ownership.stranger(marker_in(vm.notes))
            if owner is not None:
                found.append((MacHolder(vm.name, owner),
                              [mac_text(a.mac) for a in vm.adapters if not a.dynamic_mac]))
        return mac_holders(found)

    def named(self, name: str) -> list[VmInfo]:
        """Every VM called ``name`` now (Hyper-V allows several), from a fresh bulk read."""
        return [vm for vm in self.refresh().vms if vm.name == name]

    def vm(self, vm_id: str, what: str) -> VmInfo:
        """One VM by id (a READ). Raises ObjectNotFoundError when it is gone."""
        found = parse_vms(self.ps.read(one_vm(vm_id), what=what))
        if not found:
            raise ObjectNotFoundError(f"{what}: the VM is gone")
        return found[0]

    def one(self, vm_id: str, what: str) -> LiveObject:
        """One of this block's VMs as the next plan sees it (after a change)."""
        vm = self.vm(vm_id, what)
        marker = marker_in(vm.notes)
        if marker is None or not self.ownership.owns(marker):
            raise ObjectNotFoundError(f"{what}: the VM has no ownership marker of this stack")
        return live_object(vm, marker, self.ownership.provider)


def _leftover(vm: VmInfo, marker: Marker, provider: str) -> LiveObject:
    attributes: dict[str, Any] = {"leftover": "interrupted create",
                                  "piece": "a VM whose create did not finish",
                                  "path": vm.path, "id": vm.id,
                                  "folder": str(marker.memo.get("folder") or "")}
    return LiveObject(address=marker.address, provider=provider, name=vm.name, id=vm.id,
                      spec={}, attributes=attributes, running=vm.running)
