"""The provider contract: what every hypervisor plugin implements.

A provider instance serves one ``providers:`` block of a stack. ``__init__``
does no I/O; the first call that needs the hypervisor connects. The planner
reads only through ``list_managed`` (one bulk read per kind, whatever the
number of guests) and ``capacity``; the executor writes through ``create``,
``update`` and ``delete``. Each method states what a failure leaves behind.

Providers translate their library's exceptions once, at this edge, into
``provisioner.errors`` (``raise ProviderError(...) from exc``), retry
transient faults themselves, and normalize values (units, defaults the
hypervisor fills in, disk order) so that a plan right after an apply shows no
changes.
"""

from __future__ import annotations

import re
import threading
import time
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Any, ClassVar

from pydantic import BaseModel

from provisioner.core.address import Address, Kind
from provisioner.core.problems import Problem
from provisioner.core.resources import Effect, LiveObject, Resource
from provisioner.core.snapshots import SnapshotInfo
from provisioner.core.specs import GuestSpec, ImageSpec, VolumeSpec
from provisioner.errors import ProviderError

_INDEX_RE = re.compile(r"\[\d+\]")


@dataclass(frozen=True)
class FieldRule:
    """How a change to one field is carried out."""

    effect: Effect
    grow_only: bool = False
    """Shrinking is refused at plan time (disk sizes)."""


IN_PLACE = FieldRule(Effect.IN_PLACE)
RESTART = FieldRule(Effect.RESTART)
REPLACE = FieldRule(Effect.REPLACE)
GROWS = FieldRule(Effect.IN_PLACE, grow_only=True)
"""The rules every provider's schema is written with."""


@dataclass(frozen=True)
class KindSchema:
    """Field semantics of one kind, keyed by path pattern (``cpus``, ``disks[].size``)."""

    fields: Mapping[str, FieldRule]
    default: FieldRule = REPLACE
    """Fields without a rule force replacement: the safe choice for the unknown."""
    attributes: tuple[str, ...] = ()
    """Computed values a LiveObject carries, readable in outputs (ip, mac, uuid)."""
    refine: Callable[[str, Any, Any, LiveObject], Effect | None] | None = None
    """Pure; given (path, before, after, live object), the effect when it depends on
    values (memory within the guest's maximum changes live), or None for the rule."""
    exclusive: tuple[str, ...] = ()
    """Top-level fields whose value no two objects of this kind on one provider block
    may hold at once (a libvirt network's cidr): a create that takes a value a delete
    of the same plan frees runs after that delete."""
    unordered: frozenset[str] = frozenset()
    """Patterns of the lists that are sets (``options.tags``): compared by membership,
    not position, so a new order is no change and a change names the items added and
    removed. The diff names the whole list (``options.tags``) to ``update``."""

    complete: frozenset[str] = frozenset()
    """Patterns of the maps a live object reports whole (``options.platform``): a key
    the stack declares that the live map lacks is a difference (to be added), where
    a key missing from any other mapping means "cannot be read back"."""

    kept: frozenset[str] = frozenset()
    """Patterns of values the object keeps when the stack stops declaring them (a NIC's
    MAC: the guest keeps the address it has): dropping the declaration changes nothing,
    so the plan shows nothing."""

    def keeps(self, path: str) -> bool:
        """Whether the value at ``path`` stays as it is when no longer declared."""
        return bool(self.kept) and _INDEX_RE.sub("[]", path) in self.kept

    def is_complete(self, path: str) -> bool:
        """Whether the map at ``path`` lists every key the object has (``complete``)."""
        return bool(self.complete) and _INDEX_RE.sub("[]", path) in self.complete

    def is_unordered(self, path: str) -> bool:
        """Whether the list at ``path`` (``options.tags``, ``disks[1].tags``) is a set."""
        return bool(self.unordered) and _INDEX_RE.sub("[]", path) in self.unordered

    def rule_for(self, path: str) -> FieldRule:
        """The most specific rule: ``disks[2].size`` → ``disks[].size`` → ``disks``."""
        pattern = _INDEX_RE.sub("[]", path)
        while pattern:
            rule = self.fields.get(pattern)
            if rule is not None:
                return rule
            pattern = _parent_pattern(pattern)
        return self.default


def _parent_pattern(pattern: str) -> str:
    if pattern.endswith("[]"):
        return pattern[:-2]
    cut = max(pattern.rfind("."), pattern.rfind("["))
    return pattern[:cut] if cut > 0 else ""


@dataclass(frozen=True)
class ProviderSchema:
    """What a provider serves and how each field changes."""

    kinds: Mapping[Kind, KindSchema]
    max_parallel: int = 8
    """Upper bound on concurrent write calls to this provider during apply."""
    node_parallel: int | None = None
    """Upper bound on concurrent changes on one node (None: no bound below max_parallel)."""
    storage_parallel: int | None = None
    """Upper bound on concurrent changes touching one pool or storage (None: no bound)."""


@dataclass(frozen=True)
class Lane:
    """Something a running change occupies (a node, a storage) and how many changes
    may occupy it at once; the executor starts no change whose lane is full."""

    key: str
    limit: int


@dataclass(frozen=True)
class Inventory:
    """The result of one bulk read: this stack's objects, and names others hold."""

    managed: Sequence[LiveObject]
    foreign: Mapping[Kind, Mapping[str, str]] = field(default_factory=dict)
    """Per kind, names of objects NOT owned by this stack → who owns them
    ("untagged" or "stack NAME"); used to refuse name collisions at plan time."""
    leftovers: Sequence[LiveObject] = ()
    """Pieces of this stack's objects that an interrupted create or delete left
    behind (a guest's disks without the guest). Each is deleted by ``delete``;
    the planner always plans that, before any create at the same address."""
    warnings: Sequence[str] = ()
    """What the plan must say about the read: objects left out because they could
    not be read (never this stack's: those fail the read)."""


@dataclass(frozen=True)
class HostCapacity:
    """One host or node: its size, and what the guests on it (this stack's and every
    other's) reserve, as the hypervisor reports them."""

    node: str
    cpus: int
    memory_total: int
    memory_free: int
    """What the host itself says is free now (free + reclaimable caches)."""
    running_cpus: int = 0
    running_memory: int = 0
    """vCPUs and memory of the guests running on it (every guest, not only this stack's)."""
    stopped_cpus: int = 0
    stopped_memory: int = 0
    """vCPUs and memory of the guests defined on it but stopped (reserved if started)."""


@dataclass(frozen=True)
class PoolCapacity:
    """Space of one storage pool or datastore."""

    pool: str
    capacity: int
    available: int
    allocated: int = 0
    """Bytes the pool's volumes may grow to (virtual sizes), 0 if unknown."""
    node: str | None = None
    """The node a node-local storage belongs to."""


@dataclass(frozen=True)
class Capacity:
    hosts: Sequence[HostCapacity]
    pools: Sequence[PoolCapacity]


@dataclass(frozen=True)
class Requirements:
    """What one resource reserves on its provider: vCPUs, memory, bytes per pool, and
    the node it reserves them on (None: the provider's only host)."""

    cpus: int = 0
    memory: int = 0
    storage: Mapping[str, int] = field(default_factory=dict)
    node: str | None = None


@dataclass(frozen=True)
class Owner:
    """The ownership tag written on every object created: stack name (and address)."""

    stack: str
    directory: Path | None = None
    """The stack's directory: where a relative path in a provider block or a spec
    (a qemu guest's ``dir:``, an image file) starts. None: the working directory."""


class CallKind(StrEnum):
    """Categories of hypervisor API calls, counted by ``ProviderStats``.

    The plan-cost promise is about them: LIST calls must not grow with the
    number of guests; READ calls (one object each) may, at most linearly.
    """

    CONNECT = "connect"
    LIST = "list"
    READ = "read"
    WRITE = "write"


@dataclass
class ProviderStats:
    """API calls made and time spent, per call kind; shown by ``plan --stats``."""

    calls: dict[CallKind, int] = field(default_factory=dict)
    seconds: float = 0.0
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    @contextmanager
    def track(self, category: CallKind) -> Iterator[None]:
        start = time.perf_counter()
        try:
            yield
        finally:
            elapsed = time.perf_counter() - start
            with self._lock:
                self.calls[category] = self.calls.get(category, 0) + 1
                self.seconds += elapsed

    def total(self) -> int:
        return sum(self.calls.values())


class Provider(ABC):
    """One provider block's connection to a hypervisor. Subclass per plugin."""

    type_name: ClassVar[str]
    in_use: frozenset[Kind] | None = None
    """The kinds this block may hold objects of for the stack, as the engine tells it
    before a plan's read (declared, recorded, or named by a pending call); None: any.
    A provider may skip reading the others (``uses``); never a kind in this set."""

    def __init__(self, name: str, config: BaseModel, owner: Owner) -> None:
        """Keep the settings; no I/O here (the CLI builds providers it may never call)."""
        self.name = name
        self.config = config
        self.owner = owner
        self.stats = ProviderStats()

    def uses(self, kind: Kind) -> bool:
        """Whether the bulk read must look for objects of ``kind`` (see ``in_use``)."""
        return self.in_use is None or kind in self.in_use

    @abstractmethod
    def schema(self) -> ProviderSchema:
        """Kinds served and per-field effects. Pure: no I/O, never fails."""

    @abstractmethod
    def list_managed(self) -> Inventory:
        """Every object tagged with this stack, in one bulk read per kind.

        Read-only. Raises ProviderError if the hypervisor cannot be reached;
        a partial result is never returned (a missing object would be planned
        as a create, and the plan would duplicate it).
        """

    @abstractmethod
    def capacity(self) -> Capacity:
        """Free CPUs, memory and pool space. Read-only; raises ProviderError."""

    @abstractmethod
    def create(self, resource: Resource) -> LiveObject:
        """Create the object, tagged with the owner and address, and return it as read back.

        Transactional: if this raises, nothing is left behind, or the error is
        a CreateFailedError whose ``leftovers`` names what remains (it is also
        tagged, so the next plan finds and deletes or adopts it). A retried
        create first checks whether an earlier attempt already succeeded.
        """

    def create_ahead(self, resource: Resource) -> frozenset[Kind]:
        """The kinds of object that ``resource``'s create can begin without: the part
        of it that comes first needs none of them (a libvirt guest's disks need no
        network). The executor may then start it while the steps making such objects
        run, through ``create_when``. Pure. Default: none (``create`` waits for all)."""
        return frozenset()

    def create_when(self, resource: Resource, ready: Callable[[], None]) -> LiveObject:
        """``create``, begun before the objects of the kinds ``create_ahead`` names
        exist: call ``ready()`` before the first call that needs one of them. It returns
        once they all exist, or raises UpstreamFailedError (a ProviderError) when one
        could not be made: then remove what was made, as any failed create does.
        Default: ``ready()``, then ``create``."""
        ready()
        return self.create(resource)

    @abstractmethod
    def update(
        self, resource: Resource, live: LiveObject, changed: Sequence[str]
    ) -> LiveObject:
        """Change only the fields in ``changed`` (diff paths), never the id.

        Fields whose effect is RESTART are applied with a clean shutdown and
        start when the object runs. If this raises, the object still exists;
        the fields already changed are visible in the next plan.
        """

    @abstractmethod
    def delete(self, live: LiveObject) -> None:
        """Delete the object and what it owns (a guest's own disks). Idempotent:
        an object already gone is success. If this raises, the object may still
        exist and the next plan deletes it again."""

    def check(self, resources: Sequence[Resource]) -> Sequence[Problem]:
        """Plan-time checks of what the declared resources refer to outside the stack
        (pools, host networks, bridges, base images), against what the last
        ``list_managed`` read. Returns problems, each naming the resource, and the
        field at fault when there is one (the plan shows it at that field's line);
        read-only. Default: nothing to check."""
        return []

    def requirements(self, resource: Resource) -> Requirements:
        """What ``resource`` reserves once applied (for the plan-time capacity check).
        Pure. The default reads the common guest and volume fields; providers that
        know their default pool override ``default_pool``."""
        if resource.kind is Kind.VOLUME:
            volume = VolumeSpec.of(resource.spec)
            return Requirements(storage={volume.pool or self.default_pool: volume.size})
        if resource.kind is Kind.IMAGE:
            size = int(resource.settings.get("size") or 0)
            pool = ImageSpec.of(resource.spec).pool or self.default_pool
            return Requirements(storage={pool: size} if size else {})
        if resource.kind is not Kind.GUEST:
            return Requirements()
        guest = GuestSpec.of(resource.spec)
        storage: dict[str, int] = {}
        for disk in guest.own_disks:
            if disk.size:
                pool = disk.pool or self.default_pool
                storage[pool] = storage.get(pool, 0) + disk.size
        return Requirements(cpus=guest.cpus if guest.running else 0,
                            memory=guest.memory if guest.running else 0, storage=storage)

    def lanes(self, resource: Resource) -> list[Lane]:
        """The lanes a change to ``resource`` occupies while it runs: its node and the
        pools it has disks on, bounded by the schema's ``node_parallel`` and
        ``storage_parallel``. Pure."""
        schema = self.schema()
        need = self.requirements(resource)
        lanes = []
        if schema.node_parallel is not None and need.node is not None:
            lanes.append(Lane(f"node:{need.node}", schema.node_parallel))
        if schema.storage_parallel is not None:
            lanes += [Lane(f"storage:{pool}", schema.storage_parallel)
                      for pool in sorted(need.storage)]
        return lanes

    @property
    def default_pool(self) -> str:
        """The pool used when a disk or volume names none."""
        return "default"

    def adopt(self, address: Address, name: str) -> LiveObject:
        """Tag an existing object named ``name``, owned by no stack, as ``address`` of
        this stack, and return it as read back (``provisioner import``).

        Refuses (ProviderError) an object that does not exist or that a stack owns;
        if this raises, the object is unchanged. Providers that cannot tag existing
        objects keep this default, which refuses."""
        raise ProviderError(f"the {self.type_name} provider cannot adopt existing objects",
                            hint="delete or rename the existing object instead")

    # -- snapshots (optional; names reach here checked by check_snapshot_name) -----------

    def snapshots(self, live: LiveObject) -> list[SnapshotInfo]:
        """The snapshots of guest ``live``, oldest first. Read-only; raises
        ProviderError if the guest cannot be read. Default: refuses."""
        raise self._no_snapshots()

    def snapshot_create(self, live: LiveObject, name: str) -> SnapshotInfo:
        """Take snapshot ``name`` of guest ``live`` as it is now (running or stopped) and
        return it as read back. Refuses (ProviderError, the guest unchanged) a name the
        guest already has and a guest whose disks cannot be snapshotted; if it raises
        otherwise, no snapshot of that name is left. Default: refuses."""
        raise self._no_snapshots()

    def snapshot_revert(self, live: LiveObject, name: str) -> LiveObject:
        """Bring guest ``live`` back to snapshot ``name``: disks, and the running state
        when the snapshot holds it (else the guest is stopped after). Returns the guest
        as read back. Refuses (ProviderError) a name the guest does not have; if it
        raises after starting, the guest is in the snapshot's state or its own.
        Default: refuses."""
        raise self._no_snapshots()

    def snapshot_delete(self, live: LiveObject, name: str) -> None:
        """Delete snapshot ``name`` of guest ``live``, freeing what it holds; the guest
        is unchanged. Idempotent: a snapshot already gone is success. Default: refuses."""
        raise self._no_snapshots()

    def _no_snapshots(self) -> ProviderError:
        return ProviderError(f"the {self.type_name} provider cannot take snapshots yet",
                             hint="snapshots work on libvirt, qemu, Proxmox VE, vSphere and "
                                  "XenServer guests for now; leave this provider's guests out "
                                  "with --target")

    def quick_probe(self) -> tuple[str, dict[str, str]] | None:
        """What the quick no-change check (``provisioner/quick``) reads of this block's
        host in place of the inventory: (a kind in ``quick.session.PROBES``, its
        parameters, never a secret). Default None: re-runs always plan in full."""
        return None

    def close(self) -> None:  # noqa: B027 - optional hook
        """Release connections. Never raises."""
