"""Graphs as Graphviz DOT and Mermaid: a plan's steps, or a stack's resources.

A plan graph has one node per step (``create guests.web-0``) and an edge
from each step to the steps that must wait for it (``plan.edges``). A
resource graph (``provisioner graph`` without a plan) has one node per
address and an edge from each dependency to the resource that needs it.

Nodes keep the order they are given in and edges the order of the plan, so
the output is deterministic. Labels are addresses and operations only:
never a spec value.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from provisioner.core.resources import Resource
from provisioner.plan.model import Plan

Edge = tuple[str, str]


def render_dot(plan: Plan) -> str:
    """The plan's step graph as a DOT ``digraph plan``."""
    return _dot("plan", [step.key for step in plan.steps], plan.edges)


def render_mermaid(plan: Plan) -> str:
    """The plan's step graph as a Mermaid ``flowchart LR`` (node ids ``s0``, ``s1``...)."""
    return _mermaid("s", [step.key for step in plan.steps], plan.edges)


def render_resource_graph_dot(resources: Sequence[Resource]) -> str:
    """Resources and their dependencies as a DOT ``digraph resources``."""
    nodes, edges = _resource_graph(resources)
    return _dot("resources", nodes, edges)


def render_resource_graph_mermaid(resources: Sequence[Resource]) -> str:
    """Resources and their dependencies as a Mermaid flowchart (ids ``r0``, ``r1``...)."""
    nodes, edges = _resource_graph(resources)
    return _mermaid("r", nodes, edges)


def _resource_graph(resources: Sequence[Resource]) -> tuple[list[str], list[Edge]]:
    nodes = [str(resource.address) for resource in resources]
    edges = [(str(dep), str(resource.address)) for resource in resources for dep in resource.deps]
    return nodes, edges


def _all_nodes(nodes: Iterable[str], edges: Iterable[Edge]) -> list[str]:
    """``nodes`` in order, then any edge end not among them; each once."""
    ordered = dict.fromkeys(nodes)
    for before, after in edges:
        ordered.setdefault(before)
        ordered.setdefault(after)
    return list(ordered)


def _dot(name: str, nodes: Sequence[str], edges: Sequence[Edge]) -> str:
    lines = [f"digraph {name} {{", "  rankdir=LR;", "  node [shape=box];"]
    lines += [f"  {_dot_id(node)};" for node in _all_nodes(nodes, edges)]
    lines += [f"  {_dot_id(before)} -> {_dot_id(after)};" for before, after in edges]
    return "\n".join([*lines, "}"]) + "\n"


def _dot_id(text: str) -> str:
    escaped = text.replace("\\", "\\\\").replace('"', '\\"')
    return f'"{escaped}"'


def _mermaid(prefix: str, nodes: Sequence[str], edges: Sequence[Edge]) -> str:
    ids = {node: f"{prefix}{index}" for index, node in enumerate(_all_nodes(nodes, edges))}
    lines = ["flowchart LR"]
    lines += [f'  {node_id}["{_mermaid_label(node)}"]' for node, node_id in ids.items()]
    lines += [f"  {ids[before]} --> {ids[after]}" for before, after in edges]
    return "\n".join(lines) + "\n"


def _mermaid_label(text: str) -> str:
    # Mermaid reads "#...;" as an entity code, so '#' itself is escaped first.
    return text.replace("#", "#35;").replace('"', "#quot;")
