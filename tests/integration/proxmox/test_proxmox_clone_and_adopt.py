"""Clones across nodes, linked clones, name collisions, foreign objects and adoption."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from pve_harness import Lab, TestPve, failures, guest

from provisioner.core.address import Address, Kind
from provisioner.errors import PlanError, ProviderError

ALMA = """
guests:
  app:
    provider: pve
    clone: alma-9
    node: pve2
    memory: 1GiB
    options: {{ full_clone: {full} }}
"""


def _templates(pve: TestPve) -> None:
    pve.storages["nfs"] = {"type": "nfs", "server": "192.0.2.5", "export": "/pve",
                           "path": "/mnt/pve/nfs", "content": "images", "shared": 1,
                           "active": 1, "files": set(), "volumes": {}}
    pve.add_vm(9100, "alma-9", node="pve1", template=True,
               config={"scsi0": "nfs:9100/base-9100-disk-0.qcow2,size=3G", "memory": 512})
    pve.add_vm(9200, "arch", node="pve1", template=True,
               config={"scsi0": "local-lvm:base-9200-disk-0,size=3G", "memory": 512})


@pytest.mark.simulator_only(
    "adds an NFS storage and the templates alma-9 and arch (VMIDs 9100, 9200) to the fake cluster")
def test_a_template_on_shared_storage_is_cloned_to_another_node(lab: Lab, pve: TestPve) -> None:
    _templates(pve)
    _, result = lab.apply(ALMA.format(full="true"))
    assert result.ok, failures(result)
    vm = guest(pve, "app")
    assert vm.node == "pve2"
    assert not lab.plan(ALMA.format(full="true")).has_changes, \
        "template disks and NICs the stack does not declare show as changes"


@pytest.mark.simulator_only(
    "adds the template alma-9 (VMID 9100) on shared storage to the fake cluster")
def test_a_linked_clone(lab: Lab, pve: TestPve) -> None:
    _templates(pve)
    body = ALMA.format(full="false").replace("node: pve2", "node: pve1")
    _, result = lab.apply(body)
    assert result.ok, failures(result)
    assert "base-9100-disk-0" in guest(pve, "app").config["scsi0"]
    assert not lab.plan(body).has_changes


@pytest.mark.simulator_only("adds the template arch (VMID 9200) to the fake cluster")
def test_a_local_template_on_another_node_is_refused_clearly(lab: Lab, pve: TestPve) -> None:
    _templates(pve)
    _, result = lab.apply(ALMA.format(full="true").replace("alma-9", "arch"))
    message = " ".join(failures(result))
    assert "template 'arch' is on pve1, on storage that is not shared, so a clone cannot " \
           "move to pve2" in message, message


WEB = """
guests:
  web:
    provider: pve
    clone: debian-12
    node: pve1
    memory: 512MiB
"""


@pytest.mark.simulator_only("adds an untagged guest named web to the fake cluster")
def test_a_name_taken_by_an_untagged_guest_stops_the_plan(lab: Lab, pve: TestPve) -> None:
    pve.add_vm(300, "web", config={"memory": 256})
    with pytest.raises(PlanError) as failure:
        lab.plan(WEB)
    assert "web" in str(failure.value) and "untagged" in str(failure.value)


@pytest.mark.simulator_only(
    "makes a second stack, other, that the run's clean-up does not own, and names the fake's "
    "untagged template debian-12")
def test_another_stacks_guests_are_foreign_and_untouched(lab: Lab, pve: TestPve,
                                                          tmp_path: object) -> None:
    other = Lab(lab.root.parent / "other", pve, lab.cafile, name="other")
    assert other.apply(WEB.replace("web:", "api:"))[1].ok
    _, result = lab.apply(WEB)
    assert result.ok, failures(result)
    with lab.engine(WEB) as engine:
        inventory = engine.providers()["pve"].list_managed()
    assert [str(o.address) for o in inventory.managed] == ["guests.web"]
    assert inventory.foreign[Kind.GUEST]["api"] == "stack other"
    assert inventory.foreign[Kind.GUEST]["debian-12"] == "untagged"
    with pytest.raises(PlanError):
        lab.plan(WEB.replace("web:", "api:"))


@pytest.mark.simulator_only("adds the untagged guest legacy to the fake cluster")
def test_an_untagged_guest_is_adopted_then_managed(lab: Lab, pve: TestPve) -> None:
    legacy = pve.add_vm(300, "legacy", status="running", config={
        "memory": 2048, "cores": 2, "scsi0": "local-lvm:vm-300-disk-0,size=8G",
        "net0": "virtio=BC:24:11:00:03:00,bridge=vmbr0", "description": "hand made",
        "tags": "old"})
    body = """
guests:
  legacy:
    provider: pve
    node: pve1
    cpus: 2
    memory: 2GiB
    disks: [ { size: 8GiB } ]
    networks: [ { bridge: vmbr0 } ]
    options: { tags: [old], description: hand made }
"""
    with lab.engine(body) as engine:
        provider = engine.providers()["pve"]
        live = provider.adopt(Address(Kind.GUEST, "legacy"), "legacy")
        assert live.id == "300"
        with pytest.raises(ProviderError, match="already belongs to stack lab"):
            provider.adopt(Address(Kind.GUEST, "legacy"), "legacy")
    assert "provisioner.lab" in legacy.config["tags"]
    assert legacy.config["description"].startswith("hand made")
    plan = lab.plan(body)
    assert not plan.has_changes, [(c.action, c.fields) for c in plan.changes]


@pytest.mark.simulator_only("adds the untagged guest legacy to the fake cluster")
def test_the_yaml_import_prints_plans_no_change(lab: Lab, pve: TestPve) -> None:
    """``provisioner import`` records the guest as the printed YAML declares it: pasted
    as it is, the next plan changes nothing (options at their default, such as
    full_clone: true, were recorded as set, and their absence planned a replacement)."""
    pve.add_vm(300, "legacy", node="pve2", status="running", config={
        "memory": 512, "cores": 1, "net0": "virtio=BC:24:11:AA:BB:99,bridge=vmbr0"})
    lab.write("")
    root = Path(__file__).resolve().parents[3]
    result = subprocess.run(
        [sys.executable, "-m", "provisioner", "import", "guests.legacy", "legacy", str(lab.root),
         "--state", str(lab.root / "state.db")], capture_output=True, text=True, timeout=60,
        env={**os.environ, "PYTHONPATH": str(root)}, check=False)
    assert result.returncode == 0, result.stderr
    printed = result.stdout.split("as it is now:\n", 1)[1].split("Run `provisioner plan`")[0]
    plan = lab.plan(printed)
    assert not plan.has_changes, [(c.address, c.action, c.fields) for c in plan.changes]
