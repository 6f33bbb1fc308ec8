"""Placement and admission on a fake cluster of nodes of different sizes.

fakepve with three nodes: pve1 8GiB/4 CPUs, pve2 16GiB/8 CPUs, pve3 32GiB/16
CPUs (``TestPve.node_sizes``). Guests with ``node: auto`` are placed by the
memory left on each node after them (spread) or the least left that fits
(pack), anti-affinity first; once placed they stay.
"""

from __future__ import annotations

import collections

import pytest
from pve_harness import GIB, Lab, TestPve, failures, guest

from provisioner.core.address import Address
from provisioner.errors import PlanError
from provisioner.plan.model import Action
from provisioner.plan.planner import PlanOptions

pytestmark = pytest.mark.simulator_only(
    "adds a third node to the fake and gives its nodes sizes of the test's choosing")

SIZES = {"pve1": (4, 8 * GIB), "pve2": (8, 16 * GIB), "pve3": (16, 32 * GIB)}


@pytest.fixture
def cluster(pve: TestPve) -> TestPve:
    pve.add_node("pve3")
    pve.node_sizes = dict(SIZES)
    return pve


def _fleet(count: int, memory: str, placement: str = "", name: str = "app") -> str:
    return f"""
guests:
  {name}:
    provider: pve
    count: {count}
    node: auto
    cpus: 1
    memory: {memory}
    disks: [ {{ size: 1GiB }} ]
    networks: [ {{ bridge: vmbr0 }} ]
    {placement}
"""


def _nodes(pve: TestPve, prefix: str) -> dict[str, str]:
    return {vm.name: vm.node for vm in pve.vms if vm.name.startswith(prefix)}


def test_spread_fills_the_node_with_most_memory_left_first(lab: Lab, cluster: TestPve) -> None:
    # 4GiB each: pve3 32→28→24→20→16 left; then pve3 and pve2 would both keep 12: the
    # node with fewer of them (pve2) wins the tie; then pve3 (12 left) beats pve2 (8)
    plan, result = lab.apply(_fleet(6, "4GiB"))
    assert result.ok, failures(result)
    placed = _nodes(cluster, "app-")
    assert collections.Counter(placed.values()) == {"pve3": 5, "pve2": 1}
    reasons = {str(c.address): c.desired.placement for c in plan.changes if c.desired}
    assert reasons["guests.app-0"] == "placed on pve3 (spread: 28GiB of memory left there)"
    assert not lab.plan(_fleet(6, "4GiB")).has_changes


def test_pack_fills_the_smallest_node_that_fits_first(lab: Lab, cluster: TestPve) -> None:
    body = _fleet(6, "2GiB", "placement: { strategy: pack }")
    _, result = lab.apply(body)
    assert result.ok, failures(result)
    assert collections.Counter(_nodes(cluster, "app-").values()) == {"pve1": 4, "pve2": 2}


def test_anti_affinity_puts_each_member_on_its_own_node(lab: Lab, cluster: TestPve) -> None:
    body = _fleet(3, "1GiB", "placement: { spread_across: [guests.web] }", name="web")
    _, result = lab.apply(body)
    assert result.ok, failures(result)
    assert sorted(_nodes(cluster, "web-").values()) == ["pve1", "pve2", "pve3"]


def test_placed_guests_stay_when_the_cluster_changes(lab: Lab, cluster: TestPve) -> None:
    _, result = lab.apply(_fleet(2, "4GiB"))
    assert result.ok, failures(result)
    before = _nodes(cluster, "app-")
    assert set(before.values()) == {"pve3"}
    cluster.node_sizes["pve1"] = (64, 256 * GIB)  # pve1 is now by far the emptiest
    plan = lab.plan(_fleet(3, "4GiB"))
    actions = {str(c.address): c.action for c in plan.changes}
    assert actions == {"guests.app-0": Action.NOOP, "guests.app-1": Action.NOOP,
                       "guests.app-2": Action.CREATE}
    new = next(c for c in plan.changes if str(c.address) == "guests.app-2")
    assert new.desired is not None and new.desired.spec["node"] == "pve1"
    kept = next(c for c in plan.changes if str(c.address) == "guests.app-0")
    assert kept.desired is not None and kept.desired.placement == \
        "stays on pve3 (placed there before)"


def test_replace_places_again(lab: Lab, cluster: TestPve) -> None:
    _, result = lab.apply(_fleet(1, "4GiB"))
    assert result.ok, failures(result)
    cluster.node_sizes["pve1"] = (64, 256 * GIB)
    options = PlanOptions(replace=frozenset({Address.parse("guests.app-0")}))
    plan = lab.plan(_fleet(1, "4GiB"), options)
    (change,) = plan.changes
    assert change.action is Action.REPLACE
    assert change.desired is not None and change.desired.spec["node"] == "pve1"


def test_a_guest_no_node_can_take_is_refused_naming_every_node(lab: Lab,
                                                               cluster: TestPve) -> None:
    requests = len(cluster.requests)
    with pytest.raises(PlanError) as refused:
        lab.plan(_fleet(1, "40GiB"))
    message = str(refused.value)
    assert "guests.app-0: no node has room for it" in message
    for node, (_, memory) in SIZES.items():
        assert f"{node} has {memory // GIB}GiB" in message, message
    assert [r for r in cluster.requests[requests:] if r[0] != "GET"] == []


def test_admission_honours_overcommit_and_reserve(lab: Lab, cluster: TestPve) -> None:
    body = _fleet(1, "7GiB").replace("node: auto", "node: pve1")
    assert lab.plan(body).has_changes  # 7GiB of 8GiB
    with pytest.raises(PlanError) as refused:
        lab.plan(body, capacity={"reserve_memory": "2GiB"})
    assert "provider pve, node pve1: 6GiB of memory free for guests" in str(refused.value)
    bigger = _fleet(1, "11GiB").replace("node: auto", "node: pve1")
    with pytest.raises(PlanError):
        lab.plan(bigger)
    assert lab.plan(bigger, capacity={"memory_overcommit": 1.5}).has_changes
    many = body.replace("cpus: 1", "cpus: 4").replace("count: 1", "count: 5")
    with pytest.raises(PlanError) as refused:
        lab.plan(many.replace("7GiB", "1GiB"))
    assert "provider pve, node pve1: 16 vCPUs free (4 CPUs x 4 overcommit, 0 running); " \
           "the plan needs 20 more" in str(refused.value)


@pytest.mark.parametrize(("strategy", "node"), [("spread", "pve2"), ("pack", "pve1")])
def test_two_nodes_of_different_sizes(lab: Lab, pve: TestPve, strategy: str, node: str) -> None:
    """pve1 8GiB, pve2 16GiB: spread keeps the most left (pve2: 14, 12, 10 beat 6),
    pack the least (pve1: 6, 4, 2)."""
    pve.node_sizes = {"pve1": SIZES["pve1"], "pve2": SIZES["pve2"]}
    _, result = lab.apply(_fleet(3, "2GiB", f"placement: {{ strategy: {strategy} }}"))
    assert result.ok, failures(result)
    assert set(_nodes(pve, "app-").values()) == {node}
    assert guest(pve, "app-0").node == node
