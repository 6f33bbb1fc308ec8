"""Two libvirt hosts as one placement group (libvirt's test:/// driver, one node file
each, of different sizes): guests are created on the host placement chose, the
re-plan is clean, and once placed they stay when the other host gets roomier.

Hosts carry across engines by ``snapshot_node`` (the test driver keeps state per
connection only).
"""

from __future__ import annotations

import collections
import re
from pathlib import Path

import pytest
from support.libvirt_node import node_uri, snapshot_node, write_stack
from test_apply_libvirt import Recorder

from provisioner.engine import Engine
from provisioner.plan.model import Action
from provisioner.stack.loader import Stack, load_stack
from provisioner.state.local import SQLiteStore

pytestmark = [pytest.mark.integration, pytest.mark.simulator_only(
    "runs on libvirt's test driver, on hosts the test writes (their CPUs, memory and pools)")]


def _stack(tmp_path: Path, count: int) -> Stack:
    uris = {}
    for name, (cpus, gib) in {"rack1": (4, 8), "rack2": (8, 16)}.items():
        directory = tmp_path / name
        directory.mkdir(exist_ok=True)
        node = directory / "node.xml"
        uris[name] = f"test://{node}" if node.exists() else node_uri(directory, cpus=cpus,
                                                                      memory_gib=gib)
    text = f"""apiVersion: provisioner/v1
stack: racks
providers:
  rack1: {{ type: libvirt, uri: "{uris['rack1']}" }}
  rack2: {{ type: libvirt, uri: "{uris['rack2']}" }}
placement_groups:
  racks: {{ providers: [rack1, rack2] }}
guests:
  web:
    provider: racks
    count: {count}
    memory: 3GiB
    disks: [ {{ size: 2GiB }} ]
    placement: {{ spread_across: [guests.web] }}
  worker:
    provider: racks
    count: 3
    memory: 2GiB
outputs:
  uuids: ${{guests.web[*].uuid}}
  worker_ip: ${{guests.worker-0.ip}}
"""
    return load_stack(write_stack(tmp_path, text))


def _hosts(engine: Engine) -> dict[str, str]:
    """Guest name → the provider whose host runs it, as libvirt lists them."""
    placed = {}
    for name in ("rack1", "rack2"):
        conn = engine.providers()[name].client.conn  # type: ignore[attr-defined]
        for domain in conn.listAllDomains():
            if domain.name() != "test":
                placed[re.sub(r"^racks\.", "", domain.name())] = name
    return placed


def test_guests_land_where_placement_chose_and_stay(tmp_path: Path) -> None:
    with Engine(_stack(tmp_path, 2), SQLiteStore(tmp_path / "state.db")) as engine:
        plan = engine.plan()
        chosen = {str(c.address): c.provider for c in plan.changes}
        assert engine.apply(plan, Recorder()).ok
        placed = _hosts(engine)
        assert not engine.plan().has_changes
        for name in ("rack1", "rack2"):
            snapshot_node(engine.providers()[name].client.conn,  # type: ignore[attr-defined]
                          tmp_path / name / "node.xml")
    assert {f"guests.{name}": host for name, host in placed.items()} == chosen
    # anti-affinity: one web per rack; spread: the workers where most memory is left (rack2)
    assert sorted(h for n, h in placed.items() if n.startswith("web-")) == ["rack1", "rack2"]
    assert collections.Counter(placed.values()) == {"rack2": 4, "rack1": 1}

    # rack1 grows to 64GiB: placed guests stay; the new web-2 goes to rack1
    node = tmp_path / "rack1" / "node.xml"
    node.write_text(re.sub(r"<memory>\d+</memory>", f"<memory>{64 << 20}</memory>",
                           node.read_text(), count=1))
    with Engine(_stack(tmp_path, 3), SQLiteStore(tmp_path / "state.db")) as engine:
        plan = engine.plan()
        actions = {str(c.address): (c.action, c.provider) for c in plan.changes}
        assert actions["guests.web-2"] == (Action.CREATE, "rack1")
        assert all(action is Action.NOOP for address, (action, _) in actions.items()
                   if address != "guests.web-2"), actions
