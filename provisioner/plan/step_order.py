"""The step graph's storage and its order: a directed graph of step keys that keeps
the order edges were added in, and the lexicographically smallest topological order
by a key (Kahn's algorithm over a heap).

A plan with changes used to build this in networkx, whose import alone was about a
quarter of such a plan's wall time (issue 19); networkx is still what names a cycle
(``cycle``), the one place where its algorithms are worth loading.
"""

from __future__ import annotations

import heapq
from collections.abc import Callable, Iterator


class OrderedDigraph:
    """Nodes and edges in the order they were first added; an edge added twice is
    one edge."""

    def __init__(self) -> None:
        self.successors: dict[str, dict[str, None]] = {}

    def add_node(self, node: str) -> None:
        self.successors.setdefault(node, {})

    def add_edge(self, before: str, after: str) -> None:
        self.successors.setdefault(before, {})[after] = None
        self.add_node(after)

    def edges(self) -> Iterator[tuple[str, str]]:
        for before, afters in self.successors.items():
            for after in afters:
                yield before, after

    def topological_order(self, key: Callable[[str], str]) -> list[str] | None:
        """Every node, each after all its predecessors, ties taken smallest ``key``
        first (the one order that does so); None when there is a cycle."""
        waiting = dict.fromkeys(self.successors, 0)
        for afters in self.successors.values():
            for after in afters:
                waiting[after] += 1
        ready = [(key(node), node) for node, count in waiting.items() if count == 0]
        heapq.heapify(ready)
        order = []
        while ready:
            _, node = heapq.heappop(ready)
            order.append(node)
            for after in self.successors[node]:
                waiting[after] -= 1
                if waiting[after] == 0:
                    heapq.heappush(ready, (key(after), after))
        return order if len(order) == len(self.successors) else None

    def cycle(self) -> list[str]:
        """The nodes of one cycle, in order (networkx finds it)."""
        import networkx as nx

        graph: nx.DiGraph[str] = nx.DiGraph()
        graph.add_nodes_from(self.successors)
        graph.add_edges_from(self.edges())
        return [edge[0] for edge in nx.find_cycle(graph)]
