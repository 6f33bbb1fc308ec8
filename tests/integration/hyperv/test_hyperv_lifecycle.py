"""A guest's life on a Hyper-V host: apply, a clean re-plan, changes that restart it and
changes that do not, disks grown, destroy. Runs on the fake PowerShell, or on the real
host PROVISIONER_TEST_HYPERV names; what the host was asked is checked in the fake's
script log where the fake runs."""

from __future__ import annotations

import os

import pytest
from hyperv_lab import Lab
from support.hyperv.install import FakeHyperV

from provisioner.errors import UserError
from provisioner.plan.model import Action

GUEST = """
guests:
  app:
    provider: hv
    cpus: {cpus}
    memory: 512MiB
    disks: [{disks}]
    networks: [{{ host_network: "Default Switch" }}]
    cloud_init: {{ user_data: "#cloud-config\\nhostname: app\\n" }}
    power: {power}
    options: {{ generation: {generation}, secure_boot: {secure_boot} }}
"""


def _guest(cpus: int = 1, disks: str = "{ size: 1GiB }, { size: 512MiB }",
           power: str = "running", generation: int = 2, secure_boot: str = "linux") -> str:
    return GUEST.format(cpus=cpus, disks=disks, power=power, generation=generation,
                        secure_boot=secure_boot)


def _changes(lab: Lab, body: str) -> dict[str, str]:
    """Each changed address → its action and whether it restarts."""
    plan = lab.plan(body)
    return {str(c.address): f"{c.action.value}{' restart' if c.requires_restart else ''}"
            for c in plan.changes if c.action is not Action.NOOP}


def test_apply_replan_change_and_destroy(host: Lab) -> None:
    _plan, result = host.apply(_guest(power="stopped"))
    assert result.ok, result
    assert _changes(host, _guest(power="stopped")) == {}
    body = _guest(cpus=2, disks="{ size: 2GiB }, { size: 512MiB }", power="stopped")
    assert host.plan(body).changes[0].action is Action.UPDATE
    assert host.apply(body)[1].ok
    assert _changes(host, body) == {}
    body = _guest(cpus=2, disks="{ size: 2GiB }", power="running")
    assert host.apply(body)[1].ok
    assert _changes(host, body) == {}
    assert host.destroy(body).ok
    assert _changes(host, "") == {}


@pytest.mark.simulator_only("reads the fake's script log")
def test_a_running_guest_restarts_only_when_the_plan_says_so(lab: Lab, fake: FakeHyperV) -> None:
    assert lab.apply(_guest())[1].ok
    body = _guest(disks="{ size: 2GiB }, { size: 512MiB }").replace('"Default Switch"',
                                                                    '"External"')
    assert _changes(lab, body) == {"guests.app": "update"}  # no restart: both live
    start = len(fake.scripts())
    assert lab.apply(body)[1].ok
    done = fake.cmdlets(start)
    assert "Connect-VMNetworkAdapter" in done and "Resize-VHD" in done
    assert "Stop-VM" not in done and "Start-VM" not in done, done
    vm = fake.vm("app")
    assert vm["NetworkAdapters"][0]["SwitchName"] == "External" and vm["State"] == 2

    body = body.replace("cpus: 1", "cpus: 2")
    assert _changes(lab, body) == {"guests.app": "update restart"}
    start = len(fake.scripts())
    assert lab.apply(body)[1].ok
    done = [c for c in fake.cmdlets(start) if not c.startswith("read:")]
    assert done == ["Stop-VM", "Set-VMProcessor", "Start-VM"], done
    assert (fake.vm("app")["ProcessorCount"], fake.vm("app")["State"]) == (2, 2)


@pytest.mark.simulator_only("reads the fake's script log")
def test_a_generation_1_disk_grows_with_a_restart_and_a_new_generation_replaces(
        lab: Lab, fake: FakeHyperV) -> None:
    assert lab.apply(_guest(generation=1, secure_boot="off"))[1].ok
    assert fake.vm("app")["HardDrives"][0]["ControllerType"] == 0  # IDE
    body = _guest(generation=1, secure_boot="off", disks="{ size: 2GiB }, { size: 512MiB }")
    assert _changes(lab, body) == {"guests.app": "update restart"}
    start = len(fake.scripts())
    assert lab.apply(body)[1].ok
    done = [c for c in fake.cmdlets(start) if not c.startswith("read:")]
    assert done == ["Stop-VM", "Resize-VHD", "Start-VM"], done
    assert _changes(lab, _guest()) == {"guests.app": "replace"}
    assert lab.apply(_guest())[1].ok
    assert fake.vm("app")["Generation"] == 2


@pytest.mark.simulator_only("reads the fake's state and its folder")
def test_destroy_leaves_no_vm_disk_or_seed(lab: Lab, fake: FakeHyperV) -> None:
    two = _guest() + _guest(power="stopped").split("guests:\n", 1)[1].replace("app:", "db:")
    assert lab.apply(two)[1].ok
    state = fake.load()
    assert len(state["vms"]) == 2 and len(state["vhds"]) == 4
    assert sorted(folder.rsplit("-", 1)[0] for folder in os.listdir(fake.root)) == ["app", "db"]
    assert lab.destroy(two).ok
    state = fake.load()
    assert (state["vms"], state["vhds"], os.listdir(fake.root)) == ({}, {}, [])


@pytest.mark.simulator_only("makes VMs behind the provider's back in the fake")
def test_a_name_another_vm_holds_is_refused_though_hyper_v_would_take_it(
        lab: Lab, fake: FakeHyperV) -> None:
    fake.add_vm("app")
    with pytest.raises(UserError) as refused:
        lab.plan(_guest())
    assert "a guest named 'app' already exists" in str(refused.value.problems)
    assert "(untagged)" in str(refused.value.problems)
    assert len(fake.load()["vms"]) == 1
