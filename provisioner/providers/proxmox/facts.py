"""What one bulk read says about a cluster: nodes, storages, guests, templates.

Built from ``/cluster/resources`` (nodes, storages per node, every guest with
its tags) and ``/storage`` (each storage's type, content and sharing). The
plan-time checks, capacity, placement and VMID allocation read it; nothing
here does I/O.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from provisioner.providers.proxmox.props import split_tags, to_bool, to_int

FILE_STORAGES = frozenset({"dir", "nfs", "cifs", "cephfs", "btrfs", "glusterfs"})
"""Storage types that keep disks as files (qcow2 possible); the others are raw only."""


@dataclass(frozen=True)
class NodeInfo:
    name: str
    online: bool
    cpus: int
    memory_total: int
    memory_used: int


@dataclass(frozen=True)
class StorageInfo:
    id: str
    type: str
    content: frozenset[str]
    shared: bool
    nodes: frozenset[str]
    """Nodes where it is enabled (seen in /cluster/resources)."""
    path: str | None = None
    config: Mapping[str, Any] = field(default_factory=dict)

    @property
    def files(self) -> bool:
        return self.type in FILE_STORAGES


@dataclass(frozen=True)
class GuestRef:
    """One guest or container as ``/cluster/resources`` lists it."""

    kind: str
    """``qemu`` or ``lxc``."""
    vmid: int
    node: str
    name: str
    status: str
    template: bool
    tags: str
    lock: str | None
    pool: str | None
    memory: int
    cpus: int

    @property
    def running(self) -> bool:
        return self.status == "running"

    @property
    def path(self) -> str:
        return f"nodes/{self.node}/{self.kind}/{self.vmid}"


@dataclass
class Facts:
    """The cluster as the last listing saw it."""

    nodes: dict[str, NodeInfo] = field(default_factory=dict)
    storages: dict[str, StorageInfo] = field(default_factory=dict)
    guests: list[GuestRef] = field(default_factory=list)
    loaded: bool = False
    _templates: dict[str, list[GuestRef]] | None = field(default=None, repr=False,
                                                         compare=False)
    """QEMU templates by name, made on first use (``read`` fills ``guests`` once)."""

    @classmethod
    def read(cls, resources: Iterable[Mapping[str, Any]],
             storage_config: Iterable[Mapping[str, Any]]) -> Facts:
        facts = cls(loaded=True)
        present: dict[str, set[str]] = {}
        types: dict[str, Mapping[str, Any]] = {}
        for item in resources:
            kind = item.get("type")
            if kind == "node":
                facts._node(item)
            elif kind == "storage":
                present.setdefault(str(item.get("storage")), set()).add(str(item.get("node")))
                types.setdefault(str(item.get("storage")), item)
            elif kind in ("qemu", "lxc"):
                facts.guests.append(_guest(item))
        for config in storage_config:
            sid = str(config.get("storage"))
            facts.storages[sid] = _storage(sid, config, present.get(sid, set()))
        for sid, item in types.items():
            if sid not in facts.storages:  # listed, but the token may not audit its config
                facts.storages[sid] = _storage(sid, {"type": item.get("plugintype"),
                                                     "content": item.get("content"),
                                                     "shared": item.get("shared")},
                                               present[sid])
        return facts

    def _node(self, item: Mapping[str, Any]) -> None:
        name = str(item.get("node"))
        self.nodes[name] = NodeInfo(name, item.get("status") == "online",
                                    to_int(item.get("maxcpu")) or 0,
                                    to_int(item.get("maxmem")) or 0, to_int(item.get("mem")) or 0)

    def vmids(self) -> set[int]:
        return {guest.vmid for guest in self.guests}

    def templates(self, name: str) -> list[GuestRef]:
        """QEMU templates named ``name`` (one per node is usual). The checks ask once per
        guest: scanning every guest each time was 0.5 s of a 2,000-guest plan."""
        if self._templates is None:
            index: dict[str, list[GuestRef]] = {}
            for guest in self.guests:
                if guest.kind == "qemu" and guest.template:
                    index.setdefault(guest.name, []).append(guest)
            self._templates = index
        return list(self._templates.get(name, []))

    def template_names(self) -> list[str]:
        return sorted({g.name for g in self.guests if g.kind == "qemu" and g.template})

    def online_nodes(self) -> list[str]:
        return sorted(name for name, node in self.nodes.items() if node.online)

    def storage_key(self, storage: str, node: str) -> str:
        """How capacity names a storage: its id when shared or on a one-node
        cluster, else ``ID@NODE`` (each node has its own local-lvm)."""
        info = self.storages.get(storage)
        if (info is not None and info.shared) or len(self.nodes) <= 1:
            return storage
        return f"{storage}@{node}"


def _guest(item: Mapping[str, Any]) -> GuestRef:
    return GuestRef(
        kind=str(item.get("type")), vmid=to_int(item.get("vmid")) or 0,
        node=str(item.get("node")), name=str(item.get("name") or ""),
        status=str(item.get("status") or "unknown"),
        template=bool(to_bool(item.get("template"))), tags=str(item.get("tags") or ""),
        lock=str(item["lock"]) if item.get("lock") else None,
        pool=str(item["pool"]) if item.get("pool") else None,
        memory=to_int(item.get("maxmem")) or 0, cpus=to_int(item.get("maxcpu")) or 0,
    )


def _storage(sid: str, config: Mapping[str, Any], present: set[str]) -> StorageInfo:
    return StorageInfo(
        id=sid, type=str(config.get("type") or "dir"),
        content=frozenset(split_tags(config.get("content"))),
        shared=bool(to_bool(config.get("shared"))), nodes=frozenset(present),
        path=str(config["path"]) if config.get("path") else None, config=dict(config),
    )
