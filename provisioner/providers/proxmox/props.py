"""Proxmox values as the API sends them, parsed into comparable Python values.

Proxmox answers with strings where a schema says integer (``"2048"``),
booleans as ``0``/``1``, sizes as ``32G`` and devices as property strings
(``virtio=BC:24:11:00:00:01,bridge=vmbr0,tag=10``) whose keys come in any
order. Everything here is pure: parse by key, compare by value, never as raw
strings or list order.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, unquote

from provisioner.units import Bytes

KIB = 1024
MIB = 1024**2
GIB = 1024**3
_UNITS = {"": 1, "K": KIB, "M": MIB, "G": GIB, "T": 1024**4}
_SIZE_RE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([KMGT]?)\s*$", re.IGNORECASE)
_NEW_DISK_RE = re.compile(r"^(?:(?P<storage>[^:\s/]+):)?(?P<gib>\d+(?:\.\d+)?)$")
_DRIVE_KEY_RE = re.compile(r"^(ide|sata|scsi|virtio)(\d+)$")
_TAG_SPLIT_RE = re.compile(r"[;,\s]+")


def parse_props(text: Any, first_key: str | None = None) -> dict[str, str]:
    """``a=1,b=2`` as a dict; a leading bare value (``local:100/x.raw``) goes under
    ``first_key`` (dropped when None)."""
    props: dict[str, str] = {}
    for index, part in enumerate(str(text or "").split(",")):
        key, eq, value = part.partition("=")
        if eq:
            props[key.strip()] = value.strip()
        elif part.strip() and index == 0 and first_key is not None:
            props[first_key] = part.strip()
    return props


def format_props(props: Mapping[str, Any], first: str | None = None) -> str:
    """The property string Proxmox takes: ``first`` bare, then ``key=value`` pairs
    in the order given; None values are left out."""
    parts = [first] if first else []
    parts += [f"{key}={value}" for key, value in props.items() if value is not None]
    return ",".join(parts)


def to_int(value: Any) -> int | None:
    """An integer from ``"2"``, ``2`` or ``2.0``; None for absent or unparsable."""
    if value is None or isinstance(value, bool):
        return None if value is None else int(value)
    try:
        return int(float(value))
    except (TypeError, ValueError):
        return None


def to_bool(value: Any) -> bool | None:
    """A boolean from ``1``, ``"0"``, ``"true"``, ``"on"``; None for absent."""
    if value is None:
        return None
    text = str(value).strip().lower()
    if text in ("1", "true", "yes", "on"):
        return True
    if text in ("0", "false", "no", "off", ""):
        return False
    return None


def flag(value: bool) -> str:
    """A boolean as Proxmox takes it."""
    return "1" if value else "0"


def size_bytes(text: Any) -> Bytes | None:
    """Bytes of a Proxmox size (``32G``, ``512M``, ``4096K``, bare bytes)."""
    match = _SIZE_RE.match(str(text or ""))
    if match is None:
        return None
    number, unit = match.groups()
    return Bytes(int(float(number) * _UNITS[unit.upper()]))


def size_text(size: int) -> str:
    """A size as Proxmox writes it: the largest unit that divides it (``2G``, ``512M``)."""
    for unit in ("T", "G", "M", "K"):
        if size and size % _UNITS[unit] == 0:
            return f"{size // _UNITS[unit]}{unit}"
    return str(size)


def gib_text(size: int) -> str:
    """A new disk's size in GiB, as ``STORAGE:SIZE`` wants it (``0.5`` for 512MiB)."""
    value = size / GIB
    return str(int(value)) if value == int(value) else repr(value)


def mib(size: int) -> int:
    """Memory in MiB (the unit of ``memory``, ``balloon``, ``swap``)."""
    return size // MIB


def split_tags(text: Any) -> list[str]:
    """Tags as Proxmox keeps them (``a;b``; older versions used commas or spaces)."""
    return [tag for tag in _TAG_SPLIT_RE.split(str(text or "").strip()) if tag]


def quote_keys(keys: Iterable[str]) -> str:
    """``sshkeys`` as Proxmox takes it: the keys, one a line, URL-encoded."""
    return quote("\n".join(keys) + "\n", safe="")


def unquote_keys(text: Any) -> list[str]:
    return [line.strip() for line in unquote(str(text or "")).splitlines() if line.strip()]


def natural_key(key: str) -> tuple[str, int]:
    """Sort key of device keys: scsi2 before scsi10."""
    match = re.fullmatch(r"(\D+)(\d+)", key)
    return (match.group(1), int(match.group(2))) if match else (key, -1)


@dataclass(frozen=True)
class Drive:
    """A QEMU drive or LXC mount point value, parsed."""

    storage: str | None
    """The storage id (None for paths and ``none``)."""
    volume: str
    """The whole volume id (``local-lvm:vm-100-disk-0``) or, for a disk still to be
    made, ``STORAGE:GIB``."""
    size: Bytes | None
    props: Mapping[str, str]

    @property
    def is_cdrom(self) -> bool:
        return self.props.get("media") == "cdrom" or self.volume in ("cdrom", "none")

    @property
    def is_cloudinit(self) -> bool:
        return "cloudinit" in self.volume.rsplit(":", 1)[-1]

    @property
    def format(self) -> str | None:
        """From ``format=`` or the file's extension; None where the storage decides."""
        if "format" in self.props:
            return self.props["format"]
        for ext in ("qcow2", "raw", "vmdk"):
            if self.volume.endswith("." + ext):
                return ext
        return None


def parse_drive(text: Any, first_key: str = "file") -> Drive:
    """A drive value. ``local-lvm:4`` (a disk Proxmox has not allocated yet, as
    some versions echo it back) reads as 4GiB on local-lvm."""
    props = parse_props(text, first_key)
    volume = props.pop(first_key, "")
    new = _NEW_DISK_RE.match(volume)
    if new is not None:
        size = size_bytes(props["size"]) if "size" in props else \
            Bytes(int(float(new.group("gib")) * GIB))
        return Drive(new.group("storage"), volume, size, props)
    storage = volume.split(":", 1)[0] if ":" in volume and not volume.startswith("/") else None
    return Drive(storage, volume, size_bytes(props["size"]) if "size" in props else None, props)


def drive_slot(key: str) -> tuple[str, int] | None:
    """(bus, index) of a disk key such as ``scsi0``; None for other keys."""
    match = _DRIVE_KEY_RE.match(key)
    return (match.group(1), int(match.group(2))) if match else None
