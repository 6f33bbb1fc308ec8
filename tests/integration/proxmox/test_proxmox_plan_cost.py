"""The plan cost formula of docs/providers/proxmox.md, counted against fakepve.

``provider.stats`` counts the API calls of one plan by category; each case
states the terms of the formula it expects (nodes, nodes with bridges,
listings the stack asks for, guests outside the stack read for their MACs)
and the counts must match exactly, on a one-node and a two-node cluster.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from pve_harness import Lab, Recorder, TestPve, failures

from provisioner.errors import PlanError

DOC = Path(__file__).parents[3] / "docs" / "providers" / "proxmox.md"
FORMULA = "list = 2 + C + B + V + T + P"
"""The formula as the doc writes it (the doc must keep saying it)."""
READ_FORMULA = "read = the stack's guests and containers + A + M"


def reads(guests: int, agents: int) -> int:
    """READ_FORMULA without M: each guest's config, and A: each running guest's agent
    (the fake's template enables it, ``agent: 1``, so its clones have it on)."""
    return guests + agents


def listings(*, capacity: int = 0, bridges: int = 0, vnets: int = 0, contents: int = 0,
             pools: int = 0) -> int:
    """FORMULA: /cluster/resources and /storage, then C nodes' free space (when the plan
    grows a reservation), B nodes' bridges, V the SDN VNets, T contents of storages,
    P the resource pools."""
    return 2 + capacity + bridges + vnets + contents + pools


def _guests(nodes: list[str], *, bridge: bool = True, mac: bool = False) -> str:
    text = "guests:\n"
    for index, node in enumerate(nodes):
        nic = f', mac: "bc:24:11:aa:bb:{index:02x}"' if mac else ""
        text += (f"  g{index}:\n    provider: pve\n    node: {node}\n    clone: debian-12\n"
                 f"    memory: 512MiB\n")
        text += f"    networks: [ {{ bridge: vmbr0{nic} }} ]\n" if bridge else ""
    return text


CONTAINER = """containers:
  c:
    provider: pve
    node: pve1
    template: local:vztmpl/debian-12-standard_12.7-1_amd64.tar.zst
    rootfs: { size: 1GiB }
"""


@pytest.fixture(params=[1, 2], ids=["1-node", "2-node"])
def nodes(request: pytest.FixtureRequest, pve: TestPve) -> list[str]:
    if request.param == 1:
        del pve.nodes["pve2"]
        pve.vms[:] = [vm for vm in pve.vms if vm.node != "pve2"]
    return ["pve1", "pve2"][:request.param]


def _cost(lab: Lab, body: str, *, apply: bool = False) -> dict[str, int]:
    with lab.engine(body) as engine:
        plan = engine.plan()
        calls = {str(kind): count for kind, count in engine.stats()[0].calls.items()}
        if apply:
            result = engine.apply(plan, Recorder(), 4)
            assert result.ok, failures(result)
    return calls


def test_the_doc_gives_the_formula() -> None:
    assert FORMULA in DOC.read_text(encoding="utf-8")
    assert READ_FORMULA in DOC.read_text(encoding="utf-8")


@pytest.mark.simulator_only("counts fakepve's request log, on a fake of one or two nodes")
def test_guests_with_bridges_on_every_node(lab: Lab, pve: TestPve, nodes: list[str]) -> None:
    body = _guests(nodes)
    n = len(nodes)
    assert _cost(lab, body, apply=True) == {
        "connect": 1, "list": listings(capacity=n, bridges=n)}
    assert _cost(lab, body) == {"connect": 1, "list": listings(bridges=n), "read": reads(n, n)}


@pytest.mark.simulator_only("counts fakepve's request log, on a fake of one or two nodes")
def test_guests_without_bridges(lab: Lab, pve: TestPve, nodes: list[str]) -> None:
    body = _guests(nodes, bridge=False)
    n = len(nodes)
    assert _cost(lab, body, apply=True) == {"connect": 1, "list": listings(capacity=n)}
    assert _cost(lab, body) == {"connect": 1, "list": listings(), "read": reads(n, n)}


@pytest.mark.simulator_only("counts fakepve's request log, on a fake of one or two nodes")
def test_guests_placed_by_node_auto_read_capacity_in_every_plan(
    lab: Lab, pve: TestPve, nodes: list[str]
) -> None:
    body = _guests(["auto", "auto"], bridge=False)
    n = len(nodes)
    assert _cost(lab, body, apply=True) == {"connect": 1, "list": listings(capacity=n)}
    assert _cost(lab, body) == {"connect": 1, "list": listings(capacity=n), "read": reads(2, 2)}


@pytest.mark.simulator_only("counts fakepve's request log; adds guests to the fake")
def test_fixed_macs_read_the_guests_outside_the_stack(lab: Lab, pve: TestPve,
                                                     nodes: list[str]) -> None:
    for vmid in (120, 121, 122):  # outside the stack; the templates are not read
        pve.add_vm(vmid, f"other-{vmid}", node=nodes[-1], config={"memory": 128})
    body = _guests(nodes, mac=True)
    n = len(nodes)
    # M: one read of each foreign guest's config, besides the stack's own guests
    assert _cost(lab, body, apply=True) == {
        "connect": 1, "list": listings(capacity=n, bridges=n), "read": 3}
    assert _cost(lab, body) == {
        "connect": 1, "list": listings(bridges=n), "read": reads(n, n) + 3}


@pytest.mark.simulator_only("counts fakepve's request log, on a fake of one or two nodes")
def test_a_container_lists_its_os_template_storage(lab: Lab, pve: TestPve,
                                                  nodes: list[str]) -> None:
    body = _guests(nodes) + CONTAINER
    n = len(nodes)
    assert _cost(lab, body, apply=True) == {
        "connect": 1, "list": listings(capacity=n, bridges=n, contents=1)}
    assert _cost(lab, body) == {
        "connect": 1, "list": listings(bridges=n, contents=1), "read": reads(n + 1, n)}


@pytest.mark.simulator_only("counts fakepve's request log; adds a resource pool to the fake")
def test_a_bridge_looked_up_among_vnets_and_a_resource_pool(lab: Lab, pve: TestPve,
                                                           nodes: list[str]) -> None:
    pve.pools["lab"] = set()
    body = _guests(nodes[:1]).replace("bridge: vmbr0", "bridge: vnet9") + \
        "    options: { pool: lab }\n"
    with lab.engine(body) as engine:
        with pytest.raises(PlanError, match=r"networks\[0\]\.bridge 'vnet9' does not exist"):
            engine.plan()  # refused before any capacity is read
        calls = {str(kind): count for kind, count in engine.stats()[0].calls.items()}
    assert calls == {"connect": 1, "list": listings(bridges=1, vnets=1, pools=1)}
