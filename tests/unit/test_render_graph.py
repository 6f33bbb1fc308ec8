"""Plan and resource graphs as DOT and Mermaid: every step and edge, nothing secret."""

from __future__ import annotations

import re

import pytest
from support.plans import plan_of

from provisioner.core.address import Address, Kind
from provisioner.core.resources import Blob, Resource
from provisioner.plan.model import Action, Change, Plan, ReplaceOrder
from provisioner.render.graph import (
    render_dot,
    render_mermaid,
    render_resource_graph_dot,
    render_resource_graph_mermaid,
)

pytestmark = pytest.mark.unit

LAB = Address(Kind.NETWORK, "lab")
DISK = Address(Kind.VOLUME, "web-disk")
WEB = Address(Kind.GUEST, "web-0")
USER_DATA = Blob.of("web.cloud.yaml", b"password: hunter2\n")


def _plan() -> Plan:
    lab = Change(LAB, "kvm", Action.CREATE, desired=Resource(LAB, "kvm", {}))
    web = Change(
        WEB,
        "kvm",
        Action.REPLACE,
        "image forces replacement",
        replace_order=ReplaceOrder.DELETE_FIRST,
        desired=Resource(WEB, "kvm", {"cloud_init": {"user_data": USER_DATA}}, deps=(LAB,)),
    )
    return plan_of(lab, web, edges=(
        ("create networks.lab", "create guests.web-0"),
        ("delete guests.web-0", "create guests.web-0"),
    ))


def test_dot_is_exact() -> None:
    assert render_dot(_plan()) == (
        "digraph plan {\n"
        "  rankdir=LR;\n"
        "  node [shape=box];\n"
        '  "create networks.lab";\n'
        '  "delete guests.web-0";\n'
        '  "create guests.web-0";\n'
        '  "create networks.lab" -> "create guests.web-0";\n'
        '  "delete guests.web-0" -> "create guests.web-0";\n'
        "}\n"
    )


def test_mermaid_is_exact() -> None:
    assert render_mermaid(_plan()) == (
        "flowchart LR\n"
        '  s0["create networks.lab"]\n'
        '  s1["delete guests.web-0"]\n'
        '  s2["create guests.web-0"]\n'
        "  s0 --> s2\n"
        "  s1 --> s2\n"
    )


def test_mermaid_ids_are_sanitized() -> None:
    ids = re.findall(r"^  (\S+)\[", render_mermaid(_plan()), flags=re.MULTILINE)
    assert ids and all(re.fullmatch(r"[A-Za-z0-9_]+", node_id) for node_id in ids)


def test_every_step_and_edge_appears() -> None:
    plan = _plan()
    dot, mermaid = render_dot(plan), render_mermaid(plan)
    for step in plan.steps:
        assert f'"{step.key}"' in dot
        assert f'"{step.key}"' in mermaid
    for before, after in plan.edges:
        assert f'"{before}" -> "{after}";' in dot
    assert mermaid.count(" --> ") == len(plan.edges)


def test_blob_content_never_in_graphs() -> None:
    plan = _plan()
    resources = [change.desired for change in plan.changes if change.desired is not None]
    for text in (
        render_dot(plan),
        render_mermaid(plan),
        render_resource_graph_dot(resources),
        render_resource_graph_mermaid(resources),
    ):
        assert "hunter2" not in text


def test_quotes_and_hashes_are_escaped() -> None:
    dup = Change(WEB, "kvm", Action.DELETE, 'duplicate of "x"')
    plan = plan_of(dup)
    assert '  "delete guests.web-0";\n' in render_dot(plan)
    odd = plan_of(edges=(('a"b', "c#1"),))
    assert '"a\\"b" -> "c#1";' in render_dot(odd)
    assert 's0["a#quot;b"]' in render_mermaid(odd)
    assert 's1["c#35;1"]' in render_mermaid(odd)


def test_resource_graph() -> None:
    resources = [
        Resource(LAB, "kvm", {}),
        Resource(DISK, "kvm", {}),
        Resource(WEB, "kvm", {}, deps=(LAB, DISK)),
    ]
    assert render_resource_graph_dot(resources) == (
        "digraph resources {\n"
        "  rankdir=LR;\n"
        "  node [shape=box];\n"
        '  "networks.lab";\n'
        '  "volumes.web-disk";\n'
        '  "guests.web-0";\n'
        '  "networks.lab" -> "guests.web-0";\n'
        '  "volumes.web-disk" -> "guests.web-0";\n'
        "}\n"
    )
    assert render_resource_graph_mermaid(resources) == (
        "flowchart LR\n"
        '  r0["networks.lab"]\n'
        '  r1["volumes.web-disk"]\n'
        '  r2["guests.web-0"]\n'
        "  r0 --> r2\n"
        "  r1 --> r2\n"
    )


def test_graphs_are_deterministic() -> None:
    assert render_dot(_plan()) == render_dot(_plan())
    assert render_mermaid(_plan()) == render_mermaid(_plan())
