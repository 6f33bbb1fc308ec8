"""Crash recovery: ``provisioner apply`` SIGKILLed at a named point of a create (after
the VM is made with its creating Notes, after its devices and marker, after the provider
call) or of a delete (after Remove-VM), then a second apply converges to exactly the
declared guests: no duplicate VM (Hyper-V would accept one), no half-made VM, no disk or
seed left behind."""

from __future__ import annotations

import collections
import os

import pytest
from hyperv_lab import Lab
from support.hyperv.install import FakeHyperV

from provisioner.plan.model import Action

pytestmark = pytest.mark.simulator_only("reads the fake's state after each kill")


def _body(count: int) -> str:
    return f"""
guests:
  app:
    provider: hv
    count: {count}
    memory: 512MiB
    disks: [{{ size: 1GiB }}]
    networks: [{{ host_network: "Default Switch" }}]
    cloud_init: {{ user_data: "#cloud-config\\n" }}
"""


def _converges(lab: Lab, fake: FakeHyperV, count: int) -> None:
    assert lab.apply(_body(count))[1].ok
    state = fake.load()
    names = collections.Counter(vm["Name"] for vm in state["vms"].values())
    assert names == collections.Counter(f"app-{i}" for i in range(count)), names
    for vm in state["vms"].values():
        assert vm["Notes"].startswith("provisioner-owner: ") and vm["State"] == 2, vm["Name"]
    attached = {d["Path"] for vm in state["vms"].values() for d in vm["HardDrives"]}
    assert set(state["vhds"]) == attached and len(attached) == count
    folders = {vm["Path"].rsplit("/", 2)[1] for vm in state["vms"].values()}
    assert set(os.listdir(fake.root)) == folders and len(folders) == count
    assert all(c.action is Action.NOOP for c in lab.plan(_body(count)).changes)


@pytest.mark.parametrize("point", ["hyperv:made:guests.app-1",
                                   "hyperv:devices-made:guests.app-1",
                                   "after:create:guests.app-1"])
def test_a_create_killed_anywhere_converges(point: str, lab: Lab, fake: FakeHyperV) -> None:
    lab.write(_body(2))
    killed = lab.cli("apply", "--auto-approve", "--parallelism", "1", kill_at=point)
    assert killed.returncode == -9, killed.stdout + killed.stderr
    _converges(lab, fake, 2)


def test_a_delete_killed_after_remove_vm_converges(lab: Lab, fake: FakeHyperV) -> None:
    assert lab.apply(_body(2))[1].ok
    lab.write(_body(1))
    killed = lab.cli("apply", "--auto-approve", kill_at="hyperv:removed:app-1")
    assert killed.returncode == -9, killed.stdout + killed.stderr
    _converges(lab, fake, 1)
