"""What the guest and container code share: the connection, limits, facts, placement.

One ``Context`` per provider block. ``refresh`` re-reads the cluster listing
(creates need it fresh: names, VMIDs and free memory change while an apply
runs); ``facts`` is the last one read.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from provisioner.core.address import Address, Kind
from provisioner.core.resources import Resource, address_name
from provisioner.errors import ObjectNotFoundError, ProviderError
from provisioner.providers.base import CallKind
from provisioner.providers.kit.references import pool_of
from provisioner.providers.proxmox import ProxmoxConfig
from provisioner.providers.proxmox.client import ProxmoxClient
from provisioner.providers.proxmox.facts import Facts, GuestRef
from provisioner.providers.proxmox.limits import Limits, VmidAllocator
from provisioner.providers.proxmox.ownership import Ownership
from provisioner.providers.proxmox.power import Power
from provisioner.providers.proxmox.tasks import Tasks


@dataclass(frozen=True)
class ConfigView:
    """A guest's config now, and as it will be after a restart (pending applied)."""

    current: Mapping[str, Any]
    effective: Mapping[str, Any]
    pending: frozenset[str]
    """Keys with a pending value or a pending delete."""


def split_pending(entries: Any) -> ConfigView:
    """The ``/pending`` listing (``[{key, value, pending, delete}]``) as two configs."""
    current: dict[str, Any] = {}
    effective: dict[str, Any] = {}
    pending: set[str] = set()
    for entry in entries or []:
        key = str(entry.get("key"))
        if "value" in entry:
            current[key] = entry["value"]
            effective[key] = entry["value"]
        if "pending" in entry:
            effective[key] = entry["pending"]
            pending.add(key)
        if entry.get("delete"):
            effective.pop(key, None)
            pending.add(key)
    return ConfigView(current, effective, frozenset(pending))


class Context:
    """Shared state of one provider block's guest and container code."""

    def __init__(self, settings: ProxmoxConfig, client: ProxmoxClient, owner: Ownership) -> None:
        self.settings = settings
        self.client = client
        self.owner = owner
        self.tasks = Tasks(client, settings.task_timeout)
        self.limits = Limits(settings.node_parallel, settings.storage_parallel)
        self.power = Power(client, self.tasks, self.limits, settings.shutdown_timeout)
        self.vmids = VmidAllocator(*settings.vmids)
        self.facts = Facts()
        self.owned: dict[int, Address] = {}
        """VMID → address of this provider block's guests and containers (last listing)."""
        self._placed: dict[str, int] = {}
        self._lock = threading.Lock()

    # -- the listing ----------------------------------------------------------------------

    def refresh(self) -> Facts:
        """Read ``/cluster/resources`` and ``/storage`` (two LIST calls)."""
        resources = self.client.get(CallKind.LIST, "cluster resources", "cluster/resources")
        storages = self.client.get(CallKind.LIST, "storage configuration", "storage")
        facts = Facts.read(resources or [], storages or [])
        self.vmids.observe(facts.vmids())
        with self._lock:
            self.facts = facts
        return facts

    def known_facts(self) -> Facts:
        return self.facts if self.facts.loaded else self.refresh()

    def find(self, kind: str, vmid: int) -> GuestRef | None:
        """The guest with ``vmid`` in a fresh listing of guests (one LIST), or None.
        Node states come from the last full listing."""
        resources = self.client.get(CallKind.LIST, "cluster guests", "cluster/resources",
                                    type="vm")
        guests = Facts.read(resources or [], []).guests
        self.vmids.observe(g.vmid for g in guests)
        if not self.facts.loaded:
            self.refresh()
        return next((g for g in guests if g.kind == kind and g.vmid == vmid), None)

    def config(self, ref: GuestRef, what: str) -> ConfigView:
        """One READ: current values and pending ones."""
        return split_pending(self.client.get(CallKind.READ, what, f"{ref.path}/pending"))

    # -- names ----------------------------------------------------------------------------

    def storage_id(self, resource: Resource, path: str, pool: str | None) -> str:
        """The storage a ``pool:`` value means: a pool of the stack, a storage the cluster
        has, or the provider's default. A guest read back from the cluster (what an
        update or a delete frees) names the stack's storages by their pool name and
        carries no references: a name the cluster has only as a storage of the stack
        is that storage."""
        if pool is not None and path not in resource.references:
            ours = self.owner.storage_id(pool)
            if pool not in self.facts.storages and ours in self.facts.storages:
                return ours
        return pool_of(resource, path, pool, default=self.settings.storage,
                       stack_pool=self.owner.storage_id)

    def pool_of(self, storage_id: str) -> str:
        """The stack's name for a storage: a pool of the stack, or the id itself."""
        name = self.owner.pool_name(storage_id)
        return address_name(name) if name is not None else storage_id

    def pool_deps(self, storages: list[str]) -> tuple[Address, ...]:
        names = [self.owner.pool_name(s) for s in storages]
        return tuple(Address(Kind.POOL, address_name(n)) for n in names if n is not None)

    # -- placement ------------------------------------------------------------------------

    def allowed_nodes(self, facts: Facts) -> list[str]:
        return list(self.settings.nodes) or facts.online_nodes()

    def default_node(self, facts: Facts, what: str) -> str:
        if self.settings.nodes:
            return self.settings.nodes[0]
        nodes = sorted(facts.nodes)
        if len(nodes) == 1:
            return nodes[0]
        raise ProviderError(
            f"{what}: no node given, and the cluster has several ({', '.join(nodes)})",
            hint="set node: on it (or node: auto), or list nodes: in the provider block")

    def place(self, resource: Resource, facts: Facts,
              usable: Callable[[str], bool] = lambda _node: True) -> str:
        """The node a new guest goes to: declared, the block's default, or with ``auto``
        the allowed online node with the most free memory (counting what this run has
        placed already, so parallel creates spread)."""
        what = str(resource.address)
        declared = resource.spec.get("node")
        if declared not in (None, "auto"):
            return str(declared)
        if declared is None:
            return self.default_node(facts, what)
        memory = int(resource.spec.get("memory") or 0)
        with self._lock:
            candidates = [n for n in self.allowed_nodes(facts)
                          if n in facts.nodes and facts.nodes[n].online and usable(n)]
            if not candidates:
                raise ProviderError(f"{what}: node auto found no online node to use",
                                    hint="check the nodes: list of the provider block")
            free = {n: facts.nodes[n].memory_total - facts.nodes[n].memory_used
                    - self._placed.get(n, 0) for n in candidates}
            node = max(sorted(candidates), key=lambda n: free[n])
            self._placed[node] = self._placed.get(node, 0) + memory
        return node

    def require_online(self, facts: Facts, node: str, what: str) -> None:
        info = facts.nodes.get(node)
        if info is None:
            raise ProviderError(f"{what}: the cluster has no node {node} "
                                f"(nodes: {', '.join(sorted(facts.nodes)) or 'none'})")
        if not info.online:
            raise ProviderError(f"{what}: node {node} is offline",
                                hint="bring it back, or choose another node")

    # -- resource pools -------------------------------------------------------------------

    def set_pool(self, vmid: int, want: str | None, have: str | None, what: str) -> None:
        """Move a guest into ``want`` (a Proxmox resource pool), out of ``have``."""
        if want == have:
            return
        if want is not None:
            self.client.put(what, f"pools/{want}", vms=str(vmid), **{"allow-move": 1})
        elif have is not None:
            with contextlib.suppress(ObjectNotFoundError):
                self.client.put(what, f"pools/{have}", vms=str(vmid), delete=1)
