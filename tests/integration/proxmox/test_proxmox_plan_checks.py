"""Bad input is a plan-time error that lists what exists; nothing is changed."""

from __future__ import annotations

import pytest
from pve_harness import Lab, TestPve

from provisioner.errors import PlanError

GOOD = """
guests:
  web:
    provider: pve
    clone: debian-12
    node: pve1
    memory: 1GiB
    disks: [ { size: 4GiB } ]
    networks: [ { bridge: vmbr0 } ]
containers:
  app:
    provider: pve
    node: pve2
    template: local:vztmpl/debian-12-standard_12.7-1_amd64.tar.zst
    rootfs: { size: 2GiB }
"""

CASES = {
    "unknown node": (("node: pve1", "node: pve9"),
                     "guests.web: node 'pve9' does not exist (nodes: pve1, pve2)"),
    "unknown storage": (("size: 4GiB }", "size: 4GiB, pool: ssd }"),
                        "guests.web: disks[0].pool 'ssd' is not a storage of the cluster "
                        "(storages on pve1 for images: local-lvm)"),
    "storage without images": (("size: 4GiB }", "size: 4GiB, pool: local }"),
                               "guests.web: disks[0].pool 'local' does not hold images (it holds "
                               "backup, iso, snippets, vztmpl)"),
    "unknown bridge": (("bridge: vmbr0", "bridge: vmbr7"),
                       "guests.web: networks[0].bridge 'vmbr7' does not exist on node pve1 "
                       "(bridges: vmbr0"),
    "unknown template": (("clone: debian-12", "clone: debian-13"),
                         "guests.web: clone 'debian-13' is not a template of the cluster "
                         "(templates: debian-12)"),
    "unknown OS template": (("standard_12.7-1", "standard_13.0-1"),
                            "containers.app: template 'local:vztmpl/debian-13.0-1"),
    "qcow2 on lvmthin": (("size: 4GiB }", "size: 4GiB, format: qcow2 }"),
                         "guests.web: disks[0].format qcow2 needs a file storage; 'local-lvm' "
                         "(lvmthin) keeps raw volumes only"),
    "too many vCPUs": (("memory: 1GiB", "memory: 1GiB\n    cpus: 8"),
                       "guests.web: cpus asks for 8 vCPUs, but node pve1 has 4 CPUs"),
    "not enough memory on the node": (("memory: 1GiB", "memory: 9GiB"),
                                      "provider pve, node pve1: 8GiB of memory free for guests "
                                      "(8GiB x 1 overcommit, 0B running); the plan needs 9GiB "
                                      "more (guests.web: 9GiB)"),
    "cloud-init files": (("memory: 1GiB", "memory: 1GiB\n    cloud_init: "
                                          "{ user_data: \"#cloud-config\\n\" }"),
                         "guests.web: cloud_init files are not supported here"),
    "missing snippet": (("memory: 1GiB", "memory: 1GiB\n    options: { cloud_init: "
                                         "{ custom: { user: local:snippets/db.yaml } } }"),
                        "guests.web: options.cloud_init.custom.user 'local:snippets/db.yaml' is "
                        "not on storage local of node pve1 (there: local:snippets/web.yaml)"),
    "port forwards": (("bridge: vmbr0", "bridge: vmbr0, forwards: [{ host: 2222, guest: 22 }]"),
                      "guests.web: networks[0].forwards is not supported here: port forwards "
                      "are for QEMU's user-mode networks"),
    "unknown resource pool": (("memory: 1GiB", "memory: 1GiB\n    options: { pool: prod }"),
                              "guests.web: options.pool 'prod' does not exist (pools: none)"),
}


@pytest.mark.simulator_only(
    "reads fakepve's request log (what the provider sent), and names what the fake cluster has")
@pytest.mark.parametrize("case", sorted(CASES))
def test_bad_input_is_a_plan_error_naming_what_exists(case: str, lab: Lab,
                                                      pve: TestPve) -> None:
    (old, new), expected = CASES[case]
    body = GOOD.replace(old, new)
    if case == "unknown OS template":
        expected = "containers.app: template 'local:vztmpl/debian-12-standard_13.0-1_amd64." \
                   "tar.zst' is not on storage local of node pve2 (there: " \
                   "local:vztmpl/debian-12-standard_12.7-1_amd64.tar.zst)"
    assert body != GOOD, "the case changes nothing"
    requests = len(pve.requests)
    with pytest.raises(PlanError) as failure:
        lab.plan(body)
    assert expected in str(failure.value), str(failure.value)
    writes = [r for r in pve.requests[requests:] if r[0] != "GET"]
    assert writes == [], "a plan wrote"


NOT_ONE_FIELD = {"not enough memory on the node", "cloud-init files"}


@pytest.mark.parametrize("case", sorted(set(CASES) - NOT_ONE_FIELD))
def test_bad_input_is_shown_at_its_line_with_a_hint(case: str, lab: Lab) -> None:
    """What the stack names that the cluster lacks is shown where the stack names it,
    as file:line:column, with the next step (README: "Bad input stops at plan time,
    at its line")."""
    (old, new), _ = CASES[case]
    with pytest.raises(PlanError) as failure:
        lab.plan(GOOD.replace(old, new))
    text = (lab.root / "stack.yaml").read_text()
    line = text[:text.index(new) + len(new)].count("\n") + 1
    lines = str(failure.value).splitlines()
    at = [i for i, shown in enumerate(lines) if shown.startswith(f"{lab.root / 'stack.yaml'}:")]
    assert len(at) == 1, lines
    assert lines[at[0]].startswith(f"{lab.root / 'stack.yaml'}:{line}:"), lines
    assert lines[at[0] + 1].startswith("  hint: "), lines


def test_a_guest_without_a_node_on_a_cluster_is_shown_at_its_declaration(lab: Lab) -> None:
    with pytest.raises(PlanError) as failure:
        lab.plan(GOOD.replace("    node: pve1\n", ""))
    text = (lab.root / "stack.yaml").read_text()
    line = text[:text.index("  web:")].count("\n") + 2  # the guest's mapping
    assert f"stack.yaml:{line}:5: guests.web: node is not set, and the cluster has several " \
           "nodes (pve1, pve2)\n  hint: set node: on it (or node: auto), or list nodes: in " \
           "the provider block" in str(failure.value), str(failure.value)


def test_the_good_stack_plans(lab: Lab) -> None:
    assert lab.plan(GOOD).has_changes


def test_several_problems_are_reported_together(lab: Lab) -> None:
    body = GOOD.replace("node: pve1", "node: pve9").replace("clone: debian-12", "clone: x")
    with pytest.raises(PlanError) as failure:
        lab.plan(body)
    assert "node 'pve9' does not exist" in str(failure.value)
    assert "clone 'x' is not a template of the cluster" in str(failure.value)


def test_a_node_list_naming_a_missing_node_is_reported(lab: Lab) -> None:
    with pytest.raises(PlanError) as failure:
        lab.plan(GOOD, nodes=["pve1", "pve3"])
    assert "providers.pve.nodes: 'pve3' is not a node of the cluster (pve1, pve2)" in \
        str(failure.value)


@pytest.mark.simulator_only("sets the free space of the fake's storage local-lvm")
def test_storage_full_is_refused_naming_node_and_storage(lab: Lab, pve: TestPve) -> None:
    pve.storages["local-lvm"]["avail"] = 3 * 1024**3
    with pytest.raises(PlanError) as failure:
        lab.plan(GOOD.replace("size: 4GiB", "size: 5GiB"))
    assert "pool 'local-lvm@pve1' has 3GiB free; the plan needs 5GiB more" in \
        str(failure.value)
