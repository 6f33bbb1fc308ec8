"""``node: auto`` on a cluster: what a node has left counts the whole plan.

The planner cases cover providers of one host each; here one provider block
has two nodes, as a Proxmox cluster does: another guest's update on a node,
a delete, or a new guest pinned to a node change what placement sees there,
as they change what the admission check and ``provisioner capacity`` see.
"""

from __future__ import annotations

from pathlib import Path
from textwrap import dedent
from typing import Any

import pytest

from provisioner.core.address import Address, Kind
from provisioner.core.resources import LiveObject, Resource
from provisioner.plan.admission import CapacityView
from provisioner.plan.placed import plan_with_placement
from provisioner.plan.planner import PlanInputs, PlanOptions
from provisioner.providers.base import (
    Capacity,
    HostCapacity,
    Inventory,
    ProviderSchema,
    Requirements,
)
from provisioner.providers.libvirt.schema import GUEST_SCHEMA
from provisioner.stack.loader import load_stack

pytestmark = pytest.mark.unit

MiB, GiB = 1 << 20, 1 << 30


def cluster(n2_running: int = 4 * GiB) -> Capacity:
    """Two 8GiB nodes; n1 runs 4GiB of guests."""
    return Capacity(hosts=[HostCapacity("n1", 8, 8 * GiB, 8 * GiB, running_memory=4 * GiB),
                           HostCapacity("n2", 8, 8 * GiB, 8 * GiB, running_memory=n2_running)],
                    pools=[])


def requirements(resource: Resource) -> Requirements:
    """Memory and vCPUs of a running guest, on the node its spec names."""
    spec = resource.spec
    running = spec.get("power", "running") == "running"
    return Requirements(cpus=spec["cpus"] if running else 0,
                        memory=int(spec["memory"]) if running else 0, node=spec.get("node"))


def placement(tmp_path: Path, guests: str, live: list[tuple[str, str, int]],
              capacity: Capacity | None = None) -> str:
    """Where ``app`` goes and why, given the other guests declared and live ones
    (name, node, memory)."""
    (tmp_path / "stack.yaml").write_text(dedent("""\
        apiVersion: provisioner/v1
        stack: lab
        providers:
          pve: {type: libvirt, uri: "test:///default"}
        guests:
          app: {provider: pve, node: auto, memory: 512MiB}
        """) + guests)
    stack = load_stack(tmp_path / "stack.yaml", environ={}, cwd=tmp_path)
    objects = [_live(name, node, memory) for name, node, memory in live]
    inputs = PlanInputs(stack="lab", resources=stack.resources,
                        schemas={"pve": ProviderSchema(kinds={Kind.GUEST: GUEST_SCHEMA})},
                        inventories={"pve": Inventory(objects)})
    view = CapacityView({"pve": capacity or cluster()}.__getitem__, {}, {"pve": requirements})
    plan = plan_with_placement(stack, inputs, PlanOptions(), view)
    app = next(c for c in plan.changes if c.address.name == "app")
    assert app.desired is not None
    return app.desired.placement


def _live(name: str, node: str, memory: int) -> LiveObject:
    spec: dict[str, Any] = {"cpus": 1, "memory": memory, "node": node, "power": "running",
                            "autostart": False, "image": None, "clone": None, "disks": [],
                            "networks": [], "cloud_init": None, "options": {}}
    return LiveObject(Address(Kind.GUEST, name), "pve", name, name, spec, running=True)


def test_an_update_on_a_node_counts_in_the_memory_left_there(tmp_path: Path) -> None:
    """The issue's case: db grows by 512MiB on n1; after it and app, ``capacity`` shows
    3GiB left on n1, and so must the reason (it said 3584MiB)."""
    guests = "  db: {provider: pve, node: n1, memory: 1536MiB}\n"
    assert placement(tmp_path, guests, [("db", "n1", 1 * GiB)], cluster(6 * GiB)) == (
        "placed on n1 (spread: 3GiB of memory left there)")


def test_an_update_that_fills_a_node_sends_the_new_guest_to_the_other(tmp_path: Path) -> None:
    """Without db's growth n1 would keep more (3584MiB against n2's 3GiB)."""
    guests = "  db: {provider: pve, node: n1, memory: 3GiB}\n"  # grows by 2GiB on n1
    assert placement(tmp_path, guests, [("db", "n1", 1 * GiB)], cluster(4608 * MiB)) == (
        "placed on n2 (spread: 3GiB of memory left there)")


def test_a_delete_frees_room_on_its_node(tmp_path: Path) -> None:
    """n2 has 4GiB running of which old holds 1GiB: after the delete it has the most."""
    guests = "  keep: {provider: pve, node: n1, memory: 512MiB}\n"  # live, unchanged
    live = [("keep", "n1", 512 * MiB), ("old", "n2", 1 * GiB)]
    assert placement(tmp_path, guests, live) == (
        "placed on n2 (spread: 4608MiB of memory left there)")


def test_a_new_guest_pinned_to_a_node_counts_there_once(tmp_path: Path) -> None:
    """Not counted, n1 would keep 3584MiB; counted twice, app would go to n2."""
    guests = "  pinned: {provider: pve, node: n1, memory: 1GiB}\n"
    assert placement(tmp_path, guests, [], cluster(5632 * MiB)) == (
        "placed on n1 (spread: 2560MiB of memory left there)")
