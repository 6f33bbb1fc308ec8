"""The plan's own step order (plan/step_order.py) against networkx's, which it
replaced on the hot path: the same order on random graphs, a cycle found."""

from __future__ import annotations

import random

import networkx as nx
import pytest

from provisioner.plan.step_order import OrderedDigraph


def _random_dag(seed: int) -> tuple[OrderedDigraph, nx.DiGraph[str]]:
    rng = random.Random(seed)
    names = [f"step {rng.randrange(1000):03d}-{index}" for index in range(rng.randrange(1, 40))]
    ours, theirs = OrderedDigraph(), nx.DiGraph()
    for name in names:
        ours.add_node(name)
        theirs.add_node(name)
    for _ in range(rng.randrange(0, 80)):
        first, second = sorted(rng.sample(range(len(names)), 2)) if len(names) > 1 else (0, 0)
        if first != second:  # edges only forward in a hidden order: no cycle
            ours.add_edge(names[first], names[second])
            theirs.add_edge(names[first], names[second])
    return ours, theirs


@pytest.mark.parametrize("seed", range(40))
def test_the_order_is_networkx_lexicographical_topological_sort(seed: int) -> None:
    ours, theirs = _random_dag(seed)
    key = (lambda node: node[::-1]) if seed % 2 else (lambda node: node)
    assert ours.topological_order(key) == list(
        nx.lexicographical_topological_sort(theirs, key=key))
    assert sorted(ours.edges()) == sorted(theirs.edges())


def test_an_edge_added_twice_is_one_edge_and_nodes_keep_their_order() -> None:
    graph = OrderedDigraph()
    graph.add_edge("b", "a")
    graph.add_edge("b", "a")
    graph.add_node("c")
    assert list(graph.edges()) == [("b", "a")]
    assert list(graph.successors) == ["b", "a", "c"]
    assert graph.topological_order(lambda node: node) == ["b", "a", "c"]


def test_a_cycle_has_no_order_and_is_named() -> None:
    graph = OrderedDigraph()
    for before, after in (("start", "x"), ("x", "y"), ("y", "z"), ("z", "x")):
        graph.add_edge(before, after)
    assert graph.topological_order(lambda node: node) is None
    cycle = graph.cycle()
    assert sorted(cycle) == ["x", "y", "z"]
    assert all((cycle[i], cycle[(i + 1) % 3]) in set(graph.edges()) for i in range(3))
