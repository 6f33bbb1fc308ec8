"""An LXC container's config in the stack's container shape, and back.

``rootfs`` and ``mpN`` are mount points (``local-lvm:vm-200-disk-0,size=8G``,
``...,mp=/srv``); ``netN`` carries the interface name, bridge, MAC
(``hwaddr``) and the addresses (``ip=dhcp``, ``ip=10.0.0.5/24,gw=10.0.0.1``),
which the stack declares in ``options.ipconfig``. The OS template and the SSH
keys are used only when the container is made: they come from the marker.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping
from typing import Any

from provisioner.core.specs import ContainerSpec
from provisioner.providers.kit.changes import touched
from provisioner.providers.kit.marker import Marker
from provisioner.providers.proxmox import ContainerOptions
from provisioner.providers.proxmox.nics import format_lxc_nic, read_nic, write_nic
from provisioner.providers.proxmox.ownership import notes_of, user_tags
from provisioner.providers.proxmox.props import (
    MIB,
    flag,
    format_props,
    gib_text,
    mib,
    parse_drive,
    parse_props,
    to_bool,
    to_int,
)
from provisioner.providers.proxmox.qemu_read import PoolOf
from provisioner.providers.proxmox.qemu_write import Wanted
from provisioner.units import Bytes

ADDRESS_KEYS = ("ip", "gw", "ip6", "gw6")


def nets_of(config: Mapping[str, Any]) -> dict[int, dict[str, str]]:
    return {int(key[3:]): parse_props(value) for key, value in config.items()
            if key.startswith("net") and key[3:].isdigit()}


def mounts_of(config: Mapping[str, Any]) -> dict[int, Mapping[str, Any]]:
    return {int(key[2:]): config[key] for key in config
            if key.startswith("mp") and key[2:].isdigit()}


def read_container(config: Mapping[str, Any], node: str, running: bool, marker: Marker,
                   pool_of: PoolOf, pool: str | None, vmid: int) -> dict[str, Any]:
    applied = marker.memo
    options = applied.get("options") or {}
    declared_node = applied.get("node")
    nets = nets_of(config)
    declared_nics = list(applied.get("networks") or [])
    networks: list[dict[str, Any] | None] = []
    for index in range(max(nets, default=-1) + 1):
        declared = declared_nics[index] if index < len(declared_nics) else None
        networks.append(read_nic(nets[index], declared if isinstance(declared, Mapping)
                                 else None, "hwaddr") if index in nets else None)
    features = parse_props(config.get("features"))
    cores = to_int(config.get("cores"))
    return {
        "template": applied.get("template"),
        "cpus": cores,
        "memory": Bytes((to_int(config.get("memory")) or 512) * MIB),
        "swap": Bytes((to_int(config.get("swap")) or 0) * MIB),
        "rootfs": _volume(config.get("rootfs"), pool_of),
        "mounts": _mounts(config, pool_of),
        "networks": networks,
        "node": "auto" if declared_node == "auto" else node,
        "power": "running" if running else "stopped",
        "autostart": bool(to_bool(config.get("onboot"))),
        "options": {
            "unprivileged": bool(to_bool(config.get("unprivileged"))),
            "nesting": to_bool(features["nesting"]) if "nesting" in features else None,
            "ipconfig": _ipconfig(nets, list(options.get("ipconfig") or [])),
            "nameserver": config.get("nameserver"),
            "searchdomain": config.get("searchdomain"),
            "ssh_keys": list(options.get("ssh_keys") or []),
            "tags": _tags(config, list(options.get("tags") or [])),
            "description": notes_of(config.get("description")),
            "pool": pool,
            "vmid": vmid,
            "restart": options.get("restart", "reboot"),
        },
    }


def _volume(value: Any, pool_of: PoolOf) -> dict[str, Any] | None:
    if value is None:
        return None
    drive = parse_drive(value, "volume")
    return {"size": drive.size, "pool": pool_of(drive.storage) if drive.storage else None}


def _mounts(config: Mapping[str, Any], pool_of: PoolOf) -> list[dict[str, Any] | None]:
    mounts = mounts_of(config)
    found: list[dict[str, Any] | None] = []
    for index in range(max(mounts, default=-1) + 1):
        if index not in mounts:
            found.append(None)
            continue
        drive = parse_drive(mounts[index], "volume")
        found.append({"path": drive.props.get("mp"), "size": drive.size,
                      "pool": pool_of(drive.storage) if drive.storage else None})
    return found


def _tags(config: Mapping[str, Any], declared: list[str]) -> list[str]:
    tags = user_tags(config.get("tags"))
    return declared if sorted(set(declared)) == tags else tags


def _ipconfig(nets: Mapping[int, Mapping[str, str]], declared: list[str]) -> list[str]:
    found = []
    for index in range(max(nets, default=-1) + 1):
        props = {k: v for k, v in nets.get(index, {}).items() if k in ADDRESS_KEYS}
        same = index < len(declared) and parse_props(declared[index]) == props
        found.append(declared[index] if same else format_props(props))
    while found and not found[-1]:
        found.pop()
    return found


def wanted_container(box: ContainerSpec, name: str, tags: str, description: str,
                     current: Mapping[str, Any], changed: Collection[str] | None) -> Wanted:
    """The config keys (not mount points) ``box`` asks for."""
    options = box.options_as(ContainerOptions)
    values: dict[str, str | None] = {"hostname": name, "tags": tags, "description": description}
    paths: dict[str, tuple[str, ...]] = {"tags": ("options.tags",)}

    def want(key: str, path: str, value: str | None, *more: str) -> None:
        values[key] = value
        paths[key] = (path, *more)

    want("cores", "cpus", str(box.cpus))
    want("memory", "memory", str(mib(box.memory)))
    want("swap", "swap", None if box.swap is None else str(mib(box.swap)))
    want("onboot", "autostart", flag(box.autostart))
    want("nameserver", "options.nameserver", options.nameserver)
    want("searchdomain", "options.searchdomain", options.searchdomain)
    nesting = options.nesting
    features = dict(parse_props(current.get("features")))
    if nesting is not None:
        features["nesting"] = flag(bool(nesting))
    want("features", "options.nesting", format_props(features) if features else None)
    nets = nets_of(current)
    ipconfig = list(options.ipconfig or [])
    for index, nic in box.indexed_networks:
        path = f"networks[{index}]"
        props = write_nic(nic, nets.get(index, {}), path,
                          changed if index in nets else None, "hwaddr")
        props["name"] = props.get("name") or f"eth{index}"
        addresses = parse_props(ipconfig[index]) if index < len(ipconfig) else {}
        addressed = f"options.ipconfig[{index}]"
        for key in ADDRESS_KEYS:
            if key in addresses:
                props[key] = addresses[key]
            elif changed is not None and touched(addressed, changed):
                props.pop(key, None)
        want(f"net{index}", path, format_lxc_nic(props), addressed)
    return Wanted(values, paths)


def new_volume(storage: str, size: int, path: str | None = None) -> str:
    """A mount point still to be allocated: ``STORAGE:GIB[,mp=PATH]``."""
    return format_props({"mp": path}, f"{storage}:{gib_text(size)}")


def storage_of_value(value: Any) -> str | None:
    return parse_drive(value, "volume").storage


Storage = Callable[[str, str | None], str]
"""(spec path, declared pool) → storage id."""
