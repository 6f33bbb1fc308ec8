"""Parsing prlctl's and prlsrvctl's JSON (Parallels Desktop 19 and 20). Pure.

The bulk read is ``prlctl list --all --info --json``: a JSON array with one
object per VM, the same object ``prlctl list NAME --info --json`` prints for
one. What the diff needs from it:

- ``ID`` (a UUID, with or without braces), ``Name``, ``Description``, ``State``
  (``running``, ``stopped``, ``paused``, ``suspended``, ``starting``,
  ``stopping``...), ``Home`` (the ``NAME.pvm/`` bundle, with a trailing slash),
  ``OS``; ``Startup and Shutdown`` → ``Autostart`` (``on``/``off``);
- ``Hardware``: ``cpu`` → ``cpus`` (a number), ``memory`` → ``size``
  (``"2048Mb"``), and one entry per device, named by kind and index:
  ``hddN`` (``enabled``, ``port`` such as ``sata:0``, ``image``, ``size``
  ``"65536Mb"``), ``cdromN`` (``image``, ``state`` connected/disconnected),
  ``netN`` (``type`` shared/host/bridged, ``iface``, ``mac`` as
  ``001C42B4B074``, ``card`` e1000/rtl/virtio).

``prlsrvctl net list --json`` is an array of ``{"Network ID", "Type"
(shared, host-only, bridged), "Bound To"}``. prlctl may print text before the
JSON (a licence notice); ``json_in`` skips it. tests/unit/test_parallels_listing.py
holds the transcripts this parser is tested against, with the version each
stands for.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

MIB = 1024 * 1024
_DEVICE = re.compile(r"^(hdd|cdrom|net)(\d+)$")
_SIZE = re.compile(r"^\s*(\d+)\s*([KMGT]?)b?\s*$", re.IGNORECASE)
_UNITS = {"": MIB, "K": 1024, "M": MIB, "G": 1024 * MIB, "T": 1024 * 1024 * MIB}


@dataclass(frozen=True)
class Disk:
    index: int
    """N of ``hddN``."""
    image: str
    size: int
    """Bytes."""
    port: str = ""


@dataclass(frozen=True)
class Cdrom:
    index: int
    image: str
    connected: bool


@dataclass(frozen=True)
class Nic:
    index: int
    """N of ``netN`` (0-based)."""
    type: str
    """shared, host, bridged."""
    iface: str | None
    mac: str
    """Lower case with colons."""
    card: str


@dataclass
class VmInfo:
    """One VM as ``prlctl list --info --json`` describes it."""

    name: str
    uuid: str = ""
    description: str = ""
    state: str = "stopped"
    home: str = ""
    os: str = ""
    cpus: int = 1
    memory: int = 0
    """Bytes."""
    autostart: bool = False
    disks: list[Disk] = field(default_factory=list)
    cdroms: list[Cdrom] = field(default_factory=list)
    nics: list[Nic] = field(default_factory=list)

    @property
    def running(self) -> bool:
        return self.state in ("running", "paused", "starting", "stopping", "resuming")


@dataclass(frozen=True)
class Network:
    """A virtual network of ``prlsrvctl net list``."""

    id: str
    type: str
    """shared, host-only, bridged."""
    bound_to: str


def size_of(text: Any) -> int:
    """``"2048Mb"``, ``"64Gb"``, ``1024`` (MiB) → bytes; 0 when unreadable."""
    found = _SIZE.match(str(text or ""))
    return int(found.group(1)) * _UNITS[found.group(2).upper()] if found else 0


def mac_of(text: str) -> str:
    """``001C42B4B074`` → ``00:1c:42:b4:b0:74``."""
    raw = text.strip().replace(":", "").replace("-", "").lower()
    return ":".join(raw[i:i + 2] for i in range(0, len(raw), 2))


def json_in(text: str) -> Any:
    """The JSON document in prlctl's output, skipping what it prints around it."""
    try:
        return json.loads(text)
    except ValueError:
        start = min((i for i in (text.find("["), text.find("{")) if i >= 0), default=-1)
        if start < 0:
            raise
        return json.loads(text[start:text.rfind("]" if text[start] == "[" else "}") + 1])


def parse_vms(document: Any) -> list[VmInfo]:
    """Every VM of ``prlctl list --all --info --json`` (or the one of ``list NAME``)."""
    items = document if isinstance(document, list) else [document] if document else []
    return [parse_vm(item) for item in items if isinstance(item, Mapping)]


def parse_vm(item: Mapping[str, Any]) -> VmInfo:
    hardware = item.get("Hardware") or {}
    startup = item.get("Startup and Shutdown") or {}
    vm = VmInfo(name=str(item.get("Name", "")), uuid=str(item.get("ID", "")).strip("{}"),
                description=str(item.get("Description") or ""),
                state=str(item.get("State", "stopped")), home=str(item.get("Home", "")),
                os=str(item.get("OS", "")),
                cpus=int((hardware.get("cpu") or {}).get("cpus") or 1),
                memory=size_of((hardware.get("memory") or {}).get("size")),
                autostart=str(startup.get("Autostart", "off")) in ("on", "open", "start-host"))
    for key, device in hardware.items():
        found = _DEVICE.match(key)
        if found is None or not isinstance(device, Mapping) or \
                device.get("enabled") is False:
            continue
        kind, index = found.group(1), int(found.group(2))
        if kind == "hdd":
            vm.disks.append(Disk(index, str(device.get("image", "")),
                                 size_of(device.get("size")), str(device.get("port", ""))))
        elif kind == "cdrom":
            vm.cdroms.append(Cdrom(index, str(device.get("image", "")),
                                   device.get("state") == "connected"))
        else:
            vm.nics.append(Nic(index, str(device.get("type", "")),
                               str(device["iface"]) if device.get("iface") else None,
                               mac_of(str(device.get("mac", ""))), str(device.get("card", ""))))
    vm.disks.sort(key=lambda d: d.index)
    vm.cdroms.sort(key=lambda c: c.index)
    vm.nics.sort(key=lambda n: n.index)
    return vm


def parse_networks(document: Any) -> list[Network]:
    """Every network of ``prlsrvctl net list --json``."""
    return [Network(str(item.get("Network ID", "")), str(item.get("Type", "")),
                    str(item.get("Bound To", "")))
            for item in document or () if isinstance(item, Mapping)]
