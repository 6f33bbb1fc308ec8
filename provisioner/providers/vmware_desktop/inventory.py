"""list_managed and read-backs: the block's VMs from one bulk read, one VM after a change.

The bulk read is two LIST calls whatever the number of VMs: ``vmrun list`` (what
runs) and ``listing.DUMP_ALL`` (every .vmx under the basefolder, and every disk's
descriptor). The marker is in the .vmx, so no VM costs a read of its own. A VM
of this block with the creating key is a leftover of an interrupted create; a
.vmx without any marker, or another stack's, is foreign to this stack.
"""

from __future__ import annotations

import posixpath
import threading
from dataclasses import dataclass
from typing import Any

from provisioner.core.address import Kind
from provisioner.core.resources import LiveObject
from provisioner.errors import ObjectNotFoundError, ProviderError
from provisioner.providers.base import CallKind, Inventory
from provisioner.providers.kit.macs import MacHolder, mac_holders
from provisioner.providers.kit.marker import Marker
from provisioner.providers.kit.ownership import Ownership
from provisioner.providers.vmware_desktop.listing import (
    DUMP_ALL,
    DUMP_ONE,
    VmFolder,
    parse_dump,
)
from provisioner.providers.vmware_desktop.nics import mac_of, nic_indexes
from provisioner.providers.vmware_desktop.ownership import CREATING_KEY, marker_in
from provisioner.providers.vmware_desktop.read import live_object
from provisioner.providers.vmware_desktop.vmrun import Vmrun


@dataclass(frozen=True)
class HostRead:
    """One bulk read: every VM folder under the basefolder."""

    vms: list[VmFolder]


class Lister:
    """Finds one provider block's VMs; keeps the last bulk read for checks and capacity."""

    def __init__(self, vmrun: Vmrun, ownership: Ownership) -> None:
        self.vmrun = vmrun
        self.ownership = ownership
        # as vmrun list names the VMs: no trailing or doubled slashes, no ./ or ../
        self.basefolder = posixpath.normpath(vmrun.settings.basefolder)
        self._last: HostRead | None = None
        self._lock = threading.Lock()

    def folder_of(self, name: str) -> str:
        return f"{self.basefolder}/{name}"

    def vmx_of(self, name: str) -> str:
        return f"{self.folder_of(name)}/{name}.vmx"

    def _dump(self, script: str, folder: str, kind: CallKind) -> str:
        done = self.vmrun.shell(script, folder, kind=kind)
        if not done.ok:
            raise ProviderError(f"cannot read the VMs in {folder} on "
                                f"{self.vmrun.runner.where}: {done.stderr.strip()}",
                                hint="check the block's basefolder")
        return done.stdout

    def refresh(self) -> HostRead:
        running = self.vmrun.running()
        read = HostRead(parse_dump(self._dump(DUMP_ALL, self.basefolder, CallKind.LIST),
                                   running))
        with self._lock:
            self._last = read
        return read

    def last(self) -> HostRead:
        with self._lock:
            found = self._last
        return found if found is not None else self.refresh()

    def folder(self, name: str) -> VmFolder | None:
        """The VM in folder ``name`` as it is now (READ calls), or None."""
        running = self.vmrun.running()
        found = parse_dump(self._dump(DUMP_ONE, self.folder_of(name), CallKind.READ), running)
        return next((vm for vm in found if vm.path == self.vmx_of(name)), None)

    def inventory(self) -> Inventory:
        managed: list[LiveObject] = []
        leftovers: list[LiveObject] = []
        foreign: dict[str, str] = {}
        provider = self.ownership.provider
        for vm in self.refresh().vms:
            marker, creating = marker_in(vm.vmx), marker_in(vm.vmx, CREATING_KEY)
            if creating is not None and self.ownership.owns(creating):
                leftovers.append(_leftover(vm, creating, provider))
            elif marker is not None and self.ownership.owns(marker):
                managed.append(live_object(vm, marker, provider))
            elif (whose := self.ownership.stranger(marker or creating)) is not None:
                foreign[vm.name] = whose
        return Inventory(managed=managed, foreign={Kind.GUEST: foreign}, leftovers=leftovers)

    def mac_holders(self) -> dict[str, MacHolder]:
        """The MACs of the NICs of every VM outside this stack (from the last read)."""
        found = []
        for vm in self.last().vms:
            whose = self.ownership.stranger(marker_in(vm.vmx))
            if whose is not None:
                macs = [mac for index in nic_indexes(vm.vmx) if (mac := mac_of(vm.vmx, index))]
                found.append((MacHolder(vm.name, whose), macs))
        return mac_holders(found)

    def one(self, name: str, what: str) -> LiveObject:
        """One of this block's VMs as the next plan sees it (after a change). Raises
        ObjectNotFoundError when it is gone or not this block's."""
        vm = self.folder(name)
        marker = marker_in(vm.vmx) if vm is not None else None
        if vm is None or marker is None or not self.ownership.owns(marker):
            raise ObjectNotFoundError(f"{what}: no VM of this stack there")
        return live_object(vm, marker, self.ownership.provider)


def _leftover(vm: VmFolder, marker: Marker, provider: str) -> LiveObject:
    attributes: dict[str, Any] = {"leftover": "interrupted create",
                                  "piece": "a VM whose create did not finish", "vmx": vm.path}
    return LiveObject(address=marker.address, provider=provider, name=vm.name, id=vm.path,
                      spec={}, attributes=attributes, running=vm.running)
