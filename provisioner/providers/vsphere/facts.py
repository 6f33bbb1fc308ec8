"""What one bulk read saw of a vSphere inventory, by managed object id.

Plain data, no pyVmomi calls: built by ``collect.py`` from one
PropertyCollector retrieval, read by the planner-facing modules (inventory,
checks, capacity) and by the write paths for names → ids. Paths are relative
to their root: a VM folder below the datacenter's ``vm`` folder
(``lab/web``), a resource pool below its cluster's or host's root pool
(``lab``); the root itself is ``""``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Entity:
    moid: str
    name: str
    parent: str | None


@dataclass(frozen=True)
class Datacenter(Entity):
    vm_folder: str = ""
    host_folder: str = ""


@dataclass(frozen=True)
class Folder(Entity):
    child_types: tuple[str, ...] = ()


@dataclass(frozen=True)
class Compute(Entity):
    """A cluster, or the compute resource of a standalone host."""

    cluster: bool = False
    hosts: tuple[str, ...] = ()
    root_pool: str = ""
    datastores: tuple[str, ...] = ()
    networks: tuple[str, ...] = ()
    effective_memory_mb: int | None = None
    """Clusters: memory available to VMs on hosts that run (MB, vCenter's summary)."""


@dataclass(frozen=True)
class Host(Entity):
    connected: bool = True
    maintenance: bool = False
    memory: int = 0
    threads: int = 0
    used_memory_mb: int = 0
    datastores: tuple[str, ...] = ()
    networks: tuple[str, ...] = ()


@dataclass(frozen=True)
class Pool(Entity):
    owner: str = ""


@dataclass(frozen=True)
class Datastore(Entity):
    capacity: int = 0
    free: int = 0
    accessible: bool = True


@dataclass(frozen=True)
class Network(Entity):
    """A standard port group, a distributed port group (key and switch uuid) or an
    opaque (NSX) network."""

    kind: str = "standard"
    key: str | None = None
    switch: str | None = None


@dataclass(frozen=True)
class VmRecord:
    """One VM or template: the properties read, by property path."""

    moid: str
    props: Mapping[str, Any]

    def get(self, path: str, default: Any = None) -> Any:
        value = self.props.get(path)
        return default if value is None else value

    @property
    def name(self) -> str:
        return str(self.props.get("name") or self.moid)

    @property
    def template(self) -> bool:
        return bool(self.props.get("config.template"))


@dataclass
class Facts:
    """The inventory as one bulk read saw it."""

    datacenters: dict[str, Datacenter] = field(default_factory=dict)
    folders: dict[str, Folder] = field(default_factory=dict)
    computes: dict[str, Compute] = field(default_factory=dict)
    hosts: dict[str, Host] = field(default_factory=dict)
    pools: dict[str, Pool] = field(default_factory=dict)
    datastores: dict[str, Datastore] = field(default_factory=dict)
    networks: dict[str, Network] = field(default_factory=dict)
    switches: dict[str, str] = field(default_factory=dict)
    """Distributed switch moid → its uuid."""
    vms: list[VmRecord] = field(default_factory=list)
    field_key: int | None = None
    """The key of the ownership custom attribute (vCenter), if it exists yet."""
    read: bool = False

    def entity(self, moid: str | None) -> Entity | None:
        if moid is None:
            return None
        for table in (self.folders, self.datacenters, self.computes, self.hosts, self.pools,
                      self.datastores, self.networks):
            found = table.get(moid)
            if found is not None:
                return found
        return None

    def ancestors(self, moid: str | None) -> Iterable[Entity]:
        seen: set[str] = set()
        entity = self.entity(moid)
        while entity is not None and entity.moid not in seen:
            seen.add(entity.moid)
            yield entity
            entity = self.entity(entity.parent)

    def datacenter_of(self, moid: str | None) -> Datacenter | None:
        return next((e for e in self.ancestors(moid) if isinstance(e, Datacenter)), None)

    def folder_path(self, moid: str | None) -> str:
        """A VM folder's path below its datacenter's VM folder."""
        names = []
        for entity in self.ancestors(moid):
            if not isinstance(entity, Folder) or isinstance(self.entity(entity.parent),
                                                              Datacenter):
                break
            names.append(entity.name)
        return "/".join(reversed(names))

    def pool_path(self, moid: str | None) -> str:
        """A resource pool's path below its root pool."""
        names = []
        for entity in self.ancestors(moid):
            if not isinstance(entity, Pool) or not isinstance(self.pools.get(entity.parent or ""),
                                                              Pool):
                break
            names.append(entity.name)
        return "/".join(reversed(names))

    def in_datacenter(self, table: Mapping[str, Any], datacenter: Datacenter) -> list[Any]:
        """The entries of ``table`` below ``datacenter``."""
        return [item for moid, item in table.items()
                if self.datacenter_of(moid) == datacenter]

    def name_of(self, moid: str | None) -> str | None:
        entity = self.entity(moid)
        return entity.name if entity is not None else None
