"""Which node of the cluster a new guest or container goes to.

Declared (``node:``), the provider block's default (the first of its
``nodes:``, or the cluster's only node), or with ``node: auto`` the allowed
online node with the most free memory, counting what this run has placed
already so that parallel creates spread. (The planner's own placement across
provider blocks is plan/placement.py; this is the choice within one block.)
"""

from __future__ import annotations

import threading
from collections.abc import Callable

from provisioner.core.resources import Resource
from provisioner.core.specs import GuestSpec
from provisioner.errors import ProviderError
from provisioner.providers.proxmox import ProxmoxConfig
from provisioner.providers.proxmox.facts import Facts


class Nodes:
    """The nodes one provider block may use."""

    def __init__(self, settings: ProxmoxConfig) -> None:
        self.settings = settings
        self._placed: dict[str, int] = {}
        self._lock = threading.Lock()

    def allowed(self, facts: Facts) -> list[str]:
        return list(self.settings.nodes) or facts.online_nodes()

    def default(self, facts: Facts, what: str) -> str:
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
        guest = GuestSpec.of(resource.spec)  # node and memory: a container's too
        declared = guest.node
        if declared not in (None, "auto"):
            return str(declared)
        if declared is None:
            return self.default(facts, what)
        memory = guest.memory
        with self._lock:
            candidates = [n for n in self.allowed(facts)
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
