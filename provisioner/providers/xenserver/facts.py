"""The pool as one bulk read: every record the plan needs, fetched once per plan.

``read_pool`` makes one ``get_all_records`` call per class (VM, VBD, VDI, VIF,
network, SR, PBD, SM, host, host_metrics, pool): eleven LIST calls whatever the
number of guests. ``Pool`` answers the questions the rest of the provider
asks (a VM's disks in device order, an SR by name, the host a local SR
belongs to) from those records, with no further call. Records are XAPI's, as
the wire gives them (integers as strings: read them with ``number``).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from provisioner.providers.xenserver.client import NULL_REF, XapiClient

Record = Mapping[str, Any]
CLASSES = ("VM", "VBD", "VDI", "VIF", "network", "SR", "PBD", "SM", "host", "host_metrics",
           "pool")
ONLINE_RESIZE = "VDI_RESIZE_ONLINE"
"""The SM driver feature that lets a disk grow while its VM runs."""


def number(value: Any, default: int = 0) -> int:
    """An integer field as XAPI sends it (a string), or ``default``."""
    try:
        return int(value)
    except (TypeError, ValueError):
        return default


def device_number(record: Record, key: str) -> int:
    """A VBD's userdevice or a VIF's device as a number (unknown ones last)."""
    return number(record.get(key), 1_000)


@dataclass(frozen=True)
class Pool:
    """One read of every class the provider uses, by reference."""

    records: Mapping[str, Mapping[str, Record]]

    def of(self, cls: str) -> Mapping[str, Record]:
        return self.records.get(cls, {})

    def get(self, cls: str, ref: Any) -> Record | None:
        if not ref or ref == NULL_REF:
            return None
        return self.records.get(cls, {}).get(str(ref))

    def name(self, cls: str, ref: Any) -> str | None:
        record = self.get(cls, ref)
        return None if record is None else str(record.get("name_label", ""))

    # -- VMs --------------------------------------------------------------------------

    def vms(self) -> Iterable[tuple[str, Record]]:
        """Every VM that is a guest: not a template, snapshot or control domain."""
        for ref, vm in self.of("VM").items():
            if not (vm.get("is_a_template") or vm.get("is_a_snapshot")
                    or vm.get("is_control_domain")):
                yield ref, vm

    def templates(self) -> dict[str, str]:
        """Template name → reference (the first of a name, as XAPI lists them)."""
        found: dict[str, str] = {}
        for ref, vm in self.of("VM").items():
            if vm.get("is_a_template") and not vm.get("is_a_snapshot"):
                found.setdefault(str(vm.get("name_label", "")), ref)
        return found

    def disks(self, vm: Record) -> list[tuple[str, Record, Record | None]]:
        """A VM's disk VBDs in device order: (VBD ref, VBD, its VDI)."""
        found = []
        for ref in vm.get("VBDs") or ():
            vbd = self.get("VBD", ref)
            if vbd is not None and vbd.get("type") == "Disk":
                found.append((str(ref), vbd, self.get("VDI", vbd.get("VDI"))))
        return sorted(found, key=lambda item: device_number(item[1], "userdevice"))

    def nics(self, vm: Record) -> list[tuple[str, Record]]:
        """A VM's VIFs in device order."""
        found = [(str(ref), vif) for ref in vm.get("VIFs") or ()
                 if (vif := self.get("VIF", ref)) is not None]
        return sorted(found, key=lambda item: device_number(item[1], "device"))

    # -- storage and networks -----------------------------------------------------------

    def srs(self) -> dict[str, str]:
        """SR name → reference, for the SRs that hold VM disks (not ISO libraries)."""
        return {str(sr.get("name_label", "")): ref for ref, sr in self.of("SR").items()
                if sr.get("content_type") != "iso"}

    def default_sr(self) -> str | None:
        """The pool's default SR (``pool.default_SR``), if it has one."""
        for pool in self.of("pool").values():
            if self.get("SR", pool.get("default_SR")) is not None:
                return str(pool["default_SR"])
        return None

    def sr_host(self, sr_ref: str) -> str | None:
        """The host a local (not shared) SR is on, by name; None for a shared one."""
        sr = self.get("SR", sr_ref)
        if sr is None or sr.get("shared"):
            return None
        for pbd_ref in sr.get("PBDs") or ():
            pbd = self.get("PBD", pbd_ref)
            if pbd is not None:
                return self.name("host", pbd.get("host"))
        return None

    def online_resize(self, sr_ref: Any) -> bool:
        """Whether the SR's driver grows a disk while its VM runs."""
        sr = self.get("SR", sr_ref)
        if sr is None:
            return False
        for sm in self.of("SM").values():
            if sm.get("type") == sr.get("type"):
                features = sm.get("features") or {}
                return ONLINE_RESIZE in features or ONLINE_RESIZE in (
                    sm.get("capabilities") or ())
        return False

    def networks(self) -> dict[str, str]:
        """Network name → reference."""
        return {str(net.get("name_label", "")): ref for ref, net in self.of("network").items()}

    def bridges(self) -> dict[str, str]:
        """Bridge (xenbr0) → network reference."""
        return {str(net.get("bridge", "")): ref for ref, net in self.of("network").items()
                if net.get("bridge")}

    def hosts(self) -> dict[str, str]:
        """Host name → reference."""
        return {str(host.get("name_label", "")): ref for ref, host in self.of("host").items()}


def read_pool(client: XapiClient) -> Pool:
    """Every record of the classes the provider uses: one LIST call per class."""
    return Pool({cls: client.all_records(cls) for cls in CLASSES})
