"""A QEMU guest's config, read into the stack's guest shape.

Disks are matched by slot: the marker keeps the slot each declared disk was
given (``_pve.slots``), so ``disks[i]`` is always the disk at that slot,
whatever order Proxmox lists keys in. Disks and NICs a template brought and
the stack never declared (``_pve.template_slots``, ``_pve.template_nets``)
are part of the template, not reported. Values Proxmox keeps pending until
a reboot are read separately: the spec is what runs now.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from provisioner.providers.kit.marker import Marker
from provisioner.providers.proxmox.nics import parse_qemu_nic, read_nic
from provisioner.providers.proxmox.ownership import notes_of, user_tags
from provisioner.providers.proxmox.props import (
    MIB,
    Drive,
    drive_slot,
    natural_key,
    parse_drive,
    parse_props,
    to_bool,
    to_int,
    unquote_keys,
)
from provisioner.units import Bytes

PoolOf = Callable[[str], str]
"""Storage id → the stack's name for it (a pool of the stack) or the id itself."""
PRIVATE = "_pve"
"""Key of the provider's own notes in the applied spec of the marker."""


def private(applied: Mapping[str, Any]) -> Mapping[str, Any]:
    value = applied.get(PRIVATE)
    return value if isinstance(value, Mapping) else {}


def disks_of(config: Mapping[str, Any]) -> dict[str, Drive]:
    """The guest's disks by slot (CD-ROMs and the cloud-init drive are not disks)."""
    found = {}
    for key, value in config.items():
        if drive_slot(key) is None:
            continue
        drive = parse_drive(value)
        if not drive.is_cdrom and not drive.is_cloudinit:
            found[key] = drive
    return found


def cloudinit_slot(config: Mapping[str, Any]) -> str | None:
    return next((key for key, value in config.items()
                 if drive_slot(key) and parse_drive(value).is_cloudinit), None)


def nets_of(config: Mapping[str, Any]) -> dict[int, dict[str, str]]:
    return {int(key[3:]): parse_qemu_nic(value) for key, value in config.items()
            if key.startswith("net") and key[3:].isdigit()}


def read_guest(config: Mapping[str, Any], node: str, running: bool, marker: Marker,
               pool_of: PoolOf, pool: str | None, vmid: int) -> dict[str, Any]:
    """The spec of a guest whose config (current values) is ``config``."""
    applied = marker.memo
    notes = private(applied)
    declared_node = applied.get("node")
    return {
        "cpus": to_int(config.get("cores")) or 1,
        "memory": Bytes((to_int(config.get("memory")) or 512) * MIB),
        "image": applied.get("image"),
        "clone": applied.get("clone"),
        "node": "auto" if declared_node == "auto" else node,
        "disks": _disks(config, list(notes.get("slots") or []),
                        set(notes.get("template_slots") or []), pool_of,
                        list(applied.get("disks") or [])),
        "networks": _nets(config, list(applied.get("networks") or []),
                          set(notes.get("template_nets") or [])),
        "cloud_init": applied.get("cloud_init"),
        "power": "running" if running else "stopped",
        "autostart": bool(to_bool(config.get("onboot"))),
        "options": _options(config, applied.get("options") or {}, pool, vmid, pool_of),
    }


def _disks(config: Mapping[str, Any], slots: list[str], template: set[str],
           pool_of: PoolOf, applied: list[Any]) -> list[dict[str, Any] | None]:
    """The disks by declared slot, then any others. A disk's ``image`` is the applied
    one: Proxmox keeps no trace of the image a disk was copied from (``import-from``)."""
    current = disks_of(config)
    found: list[dict[str, Any] | None] = [
        _disk(slot, current[slot], pool_of) if slot in current else None for slot in slots]
    for index, disk in enumerate(found):
        declared = applied[index] if index < len(applied) else None
        if disk is not None and isinstance(declared, Mapping):
            disk["image"] = declared.get("image")
    extra = sorted((s for s in current if s not in slots and s not in template), key=natural_key)
    found += [_disk(slot, current[slot], pool_of) for slot in extra]
    while found and found[-1] is None:
        found.pop()
    return found


def _disk(slot: str, drive: Drive, pool_of: PoolOf) -> dict[str, Any]:
    bus = (drive_slot(slot) or ("scsi", 0))[0]
    return {"size": drive.size, "pool": pool_of(drive.storage) if drive.storage else None,
            "image": None, "volume": None, "format": drive.format or "raw", "bus": bus,
            "slot": slot}


def _nets(config: Mapping[str, Any], applied: list[Any], template: set[str]
          ) -> list[dict[str, Any] | None]:
    nets = nets_of(config)
    indexes = [i for i in nets if i < len(applied) or f"net{i}" not in template]
    size = max(indexes, default=-1) + 1
    found: list[dict[str, Any] | None] = []
    for index in range(size):
        declared = applied[index] if index < len(applied) else None
        found.append(read_nic(nets[index], declared if isinstance(declared, Mapping) else None,
                              "macaddr") if index in nets else None)
    return found


def _options(config: Mapping[str, Any], applied: Mapping[str, Any], pool: str | None,
             vmid: int, pool_of: PoolOf) -> dict[str, Any]:
    balloon = to_int(config.get("balloon"))
    agent = parse_props(config.get("agent"), "enabled").get("enabled") \
        if "agent" in config else None
    tags = user_tags(config.get("tags"))
    declared_tags = list(applied.get("tags") or [])
    return {
        "sockets": to_int(config.get("sockets")),
        "balloon": None if balloon is None else Bytes(balloon * MIB),
        "cpu_type": parse_props(config.get("cpu"), "cputype").get("cputype")
        if config.get("cpu") else None,
        "machine": config.get("machine"),
        "bios": config.get("bios"),
        "ostype": config.get("ostype"),
        "scsihw": config.get("scsihw"),
        "agent": to_bool(agent),
        "tags": declared_tags if sorted(set(declared_tags)) == tags else tags,
        "description": notes_of(config.get("description")),
        "pool": pool,
        "vmid": vmid,
        "full_clone": applied.get("full_clone", True),
        "cloud_init": read_cloud_init(config, applied.get("cloud_init"), pool_of),
        "restart": applied.get("restart", "reboot"),
    }


def read_cloud_init(config: Mapping[str, Any], applied: Any, pool_of: PoolOf
                    ) -> dict[str, Any] | None:
    """Proxmox's cloud-init settings in the shape of ``options.cloud_init``."""
    slot = cloudinit_slot(config)
    keys = ("ciuser", "sshkeys", "nameserver", "searchdomain", "cicustom")
    ipconfig = sorted((k for k in config if k.startswith("ipconfig") and k[8:].isdigit()),
                      key=natural_key)
    if slot is None and not any(k in config for k in keys) and not ipconfig:
        return None
    declared = applied if isinstance(applied, Mapping) else {}
    drive = parse_drive(config[slot]) if slot else None
    custom = parse_props(config.get("cicustom"))
    return {
        "user": config.get("ciuser"),
        "ssh_keys": unquote_keys(config.get("sshkeys")),
        "ipconfig": _ipconfig(config, ipconfig, list(declared.get("ipconfig") or [])),
        "nameserver": config.get("nameserver"),
        "searchdomain": config.get("searchdomain"),
        "storage": pool_of(drive.storage) if drive and drive.storage else None,
        "custom": {key: custom.get(key) for key in ("user", "network", "meta", "vendor")}
        if custom else None,
    }


def _ipconfig(config: Mapping[str, Any], keys: list[str], declared: list[str]) -> list[str]:
    """ipconfigN values, spelled as declared when they mean the same (keys in any order)."""
    found = []
    for index in range(max((int(k[8:]) for k in keys), default=-1) + 1):
        value = str(config.get(f"ipconfig{index}") or "")
        same = index < len(declared) and parse_props(declared[index]) == parse_props(value)
        found.append(declared[index] if same else value)
    return found
