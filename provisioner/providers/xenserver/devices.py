"""A VM's disks (VDIs plugged through VBDs) and NICs (VIFs), made to match the spec.

Disk N of the spec is the VM's N-th disk VBD in device order (a clone's first
disks are its template's): it grows with ``VDI.resize``; a missing one is a
new VDI, created with the guest's marker (``provisioner:owner`` in its
``other_config``) in the same call, then attached with ``VBD.create``; a
disk the spec no longer has is detached and destroyed. NIC N is the VIF of
device N: another network is a ``VIF.move`` (live), another MAC a new VIF;
missing ones are created, extra ones destroyed. Changes that hot-plug are
plugged when the VM runs (the plan made sure it may).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from provisioner.core.address import Address
from provisioner.core.specs import DiskSpec, NicSpec
from provisioner.errors import ProviderError
from provisioner.providers.xenserver.client import NULL_REF, XapiClient, xint
from provisioner.providers.xenserver.facts import Pool, device_number, number
from provisioner.providers.xenserver.ownership import OWNER_KEY, Ownership, marker_of
from provisioner.providers.xenserver.read import is_config_drive

MIB = 1024 * 1024


def vdi_record(name: str, sr: str, size: int, owner: str, **extra: Any) -> dict[str, Any]:
    """The record ``VDI.create`` takes: a user disk of ``size`` bytes on ``sr``."""
    record: dict[str, Any] = {
        "name_label": name, "name_description": "made by provisioner", "SR": sr,
        "virtual_size": xint(size), "type": "user", "sharable": False, "read_only": False,
        "other_config": {OWNER_KEY: owner}, "xenstore_data": {}, "sm_config": {}, "tags": [],
    }
    record.update(extra)
    return record


def vbd_record(vm: str, vdi: str, device: int, *, bootable: bool,
               read_only: bool = False) -> dict[str, Any]:
    """The record ``VBD.create`` takes: ``vdi`` as disk ``device`` of ``vm``."""
    return {"VM": vm, "VDI": vdi, "userdevice": str(device), "bootable": bootable,
            "mode": "RO" if read_only else "RW", "type": "Disk", "empty": False,
            "other_config": {}, "qos_algorithm_type": "", "qos_algorithm_params": {}}


class VmDevices:
    """The disks and NICs of one VM, as read now, and the calls that change them."""

    def __init__(self, client: XapiClient, ownership: Ownership, ref: str, what: str) -> None:
        self.client = client
        self.ownership = ownership
        self.ref = ref
        self.what = what

    def _records(self, cls: str, refs: Sequence[str]) -> list[tuple[str, dict[str, Any]]]:
        return [(ref, self.client.call(f"{cls}.get_record", ref, what=self.what))
                for ref in refs]

    def vbds(self) -> list[tuple[str, dict[str, Any]]]:
        return self._records("VBD", self.client.call("VM.get_VBDs", self.ref, what=self.what))

    def disks(self) -> list[tuple[str, dict[str, Any], dict[str, Any] | None]]:
        """(VBD ref, VBD, VDI) of the VM's disks, config drive excluded, in device order."""
        found = []
        for ref, vbd in self.vbds():
            if vbd.get("type") != "Disk":
                continue
            vdi_ref = vbd.get("VDI")
            vdi = None if not vdi_ref or vdi_ref == NULL_REF else \
                self.client.call("VDI.get_record", vdi_ref, what=self.what)
            if not is_config_drive(vdi):
                found.append((ref, vbd, vdi))
        return sorted(found, key=lambda item: device_number(item[1], "userdevice"))

    def free_device(self) -> int:
        """The lowest disk device number no VBD of the VM uses."""
        used = {device_number(vbd, "userdevice") for _ref, vbd in self.vbds()}
        return next(device for device in range(len(used) + 1) if device not in used)

    # -- disks --------------------------------------------------------------------------

    def tag_disks(self, address: Address) -> None:
        """Mark every disk the VM has as this guest's (a clone's disks come untagged)."""
        for index, (_vbd_ref, vbd, vdi) in enumerate(self.disks()):
            if vdi is not None and marker_of(vdi) is None:
                self.client.call("VDI.add_to_other_config", vbd["VDI"], OWNER_KEY,
                                 self.ownership.disk_marker(address, index), what=self.what)

    def match_disks(self, address: Address, name: str, disks: Sequence[DiskSpec],
                    pool: Pool, default_sr: str, running: bool) -> None:
        """Grow, add and remove disks so the VM has ``disks``."""
        have = self.disks()
        for index, disk in enumerate(disks):
            if index < len(have):
                self._grow(have[index][1], have[index][2], disk, index)
            else:
                self._add(address, name, index, disk, pool, default_sr, running)
        for vbd_ref, vbd, _vdi in have[len(disks):]:
            self._remove(vbd_ref, vbd, running)

    def _grow(self, vbd: dict[str, Any], vdi: dict[str, Any] | None, disk: DiskSpec,
              index: int) -> None:
        if vdi is None or disk.size is None:
            return
        if disk.size > number(vdi.get("virtual_size")):
            self.client.call("VDI.resize", vbd["VDI"], xint(disk.size),
                             what=f"{self.what} disks[{index}]")

    def _add(self, address: Address, name: str, index: int, disk: DiskSpec, pool: Pool,
             default_sr: str, running: bool) -> None:
        what = f"{self.what} disks[{index}]"
        sr = pool.srs().get(disk.pool or "") if disk.pool else default_sr
        if sr is None:
            raise ProviderError(f"{what}: no SR named '{disk.pool}'")
        size = disk.size or MIB
        vdi = self.client.call("VDI.create", vdi_record(
            f"{name} disk {index}", sr, size, self.ownership.disk_marker(address, index)),
            what=what, retry=False)
        vbd = self.client.call("VBD.create", vbd_record(
            self.ref, vdi, self.free_device(), bootable=index == 0), what=what, retry=False)
        if running:
            self.client.call("VBD.plug", vbd, what=what)

    def _remove(self, vbd_ref: str, vbd: dict[str, Any], running: bool) -> None:
        if running and vbd.get("currently_attached"):
            self.client.call("VBD.unplug", vbd_ref, what=self.what)
        vdi = vbd.get("VDI")
        self.client.call("VBD.destroy", vbd_ref, what=self.what)
        if vdi and vdi != NULL_REF:
            self.client.call("VDI.destroy", vdi, what=self.what)

    # -- NICs ---------------------------------------------------------------------------

    def nics(self) -> list[tuple[str, dict[str, Any]]]:
        vifs = self._records("VIF", self.client.call("VM.get_VIFs", self.ref, what=self.what))
        return sorted(vifs, key=lambda item: device_number(item[1], "device"))

    def match_nics(self, nics: Sequence[NicSpec], networks: Sequence[str],
                   running: bool) -> None:
        """Move, replace, add and remove VIFs so the VM has ``nics`` (on ``networks``,
        the network reference of each)."""
        have = {device_number(vif, "device"): (ref, vif) for ref, vif in self.nics()}
        for index, (nic, network) in enumerate(zip(nics, networks, strict=True)):
            found = have.pop(index, None)
            what = f"{self.what} networks[{index}]"
            if found is not None and nic.mac and nic.mac.lower() != str(
                    found[1].get("MAC", "")).lower():
                self._remove_vif(found[0], found[1], running)
                found = None
            if found is None:
                self._add_vif(index, nic, network, running, what)
            elif found[1].get("network") != network:
                self.client.call("VIF.move", found[0], network, what=what)
        for ref, vif in have.values():
            self._remove_vif(ref, vif, running)

    def _add_vif(self, index: int, nic: NicSpec, network: str, running: bool,
                 what: str) -> None:
        record = {"device": str(index), "network": network, "VM": self.ref,
                  "MAC": (nic.mac or "").lower(), "MTU": "1500", "other_config": {},
                  "qos_algorithm_type": "", "qos_algorithm_params": {}}
        vif = self.client.call("VIF.create", record, what=what, retry=False)
        if running:
            self.client.call("VIF.plug", vif, what=what)

    def _remove_vif(self, ref: str, vif: dict[str, Any], running: bool) -> None:
        if running and vif.get("currently_attached"):
            self.client.call("VIF.unplug", ref, what=self.what)
        self.client.call("VIF.destroy", ref, what=self.what)
