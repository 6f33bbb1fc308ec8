"""A guest's life on a VirtualBox host through the CLI: apply, a clean re-plan, changes
that restart it and changes that do not, a disk grown, destroy. Runs on the fake
VBoxManage, or on the real VirtualBox PROVISIONER_TEST_VBOX names; what the host was
asked is checked in the fake's command log where the fake runs."""

from __future__ import annotations

import os
from typing import Any

import pytest
from support.vbox import FakeVBox
from vbox_lab import Lab

pytestmark = pytest.mark.integration


def _guest(**fields: Any) -> dict[str, Any]:
    guest: dict[str, Any] = {
        "cpus": 1, "memory": "256MiB", "disks": [{"size": "1GiB"}, {"size": "512MiB"}],
        "networks": [{"host_network": "nat", "forwards": [{"host": 22022, "guest": 22}]},
                     {"host_network": "intnet:lab"}],
        "cloud_init": {"user_data": "#cloud-config\nhostname: app\n"}, "power": "stopped",
    }
    guest.update(fields)
    return guest


def test_apply_replan_change_and_destroy(host: Lab) -> None:
    host.write({"app": _guest()})
    host.applied()
    host.clean()

    host.write({"app": _guest(cpus=2, disks=[{"size": "2GiB"}, {"size": "512MiB"}])})
    plan = host.plan()
    assert plan.returncode == 2, plan.stdout + plan.stderr
    assert "cpus" in plan.stdout and "disks[0].size" in plan.stdout
    host.applied()
    host.clean()

    host.write({"app": _guest(cpus=2, disks=[{"size": "2GiB"}], power="running")})
    host.applied()
    host.clean()
    host.destroy()
    host.write({})
    host.clean()


@pytest.mark.simulator_only("reads the fake's command log")
def test_a_running_guest_restarts_only_when_the_plan_says_so(lab: Lab, fake: FakeVBox) -> None:
    lab.write({"app": _guest(power="running")})
    lab.applied()

    lab.write({"app": _guest(power="running", networks=[
        {"host_network": "nat", "forwards": [{"host": 22023, "guest": 22}]},
        {"host_network": "hostonly:vboxnet0"}])})
    start = len(fake.calls())
    plan = lab.plan()
    assert "requires restart" not in plan.stdout, plan.stdout
    lab.applied()
    done = [argv[:3] for argv in fake.calls()[start:]]
    assert ["controlvm", "app", "nic2"] in done
    assert not any(argv[0] in ("modifyvm", "startvm") for argv in done), done
    assert fake.vm("app")["nics"]["1"]["forwards"][0]["host_port"] == 22023

    lab.write({"app": _guest(power="running", cpus=2, networks=[
        {"host_network": "nat", "forwards": [{"host": 22023, "guest": 22}]},
        {"host_network": "hostonly:vboxnet0"}])})
    assert "requires restart" in lab.plan().stdout
    start = len(fake.calls())
    lab.applied()
    verbs = [argv[2] if argv[0] == "controlvm" else argv[0] for argv in fake.calls()[start:]
             if argv[0] in ("controlvm", "startvm", "modifyvm")]
    assert verbs == ["acpipowerbutton", "modifyvm", "startvm"], verbs
    assert (fake.vm("app")["cpus"], fake.vm("app")["state"]) == (2, "running")


@pytest.mark.simulator_only("reads the fake's state")
def test_vmdk_disks_and_a_new_format_is_a_replacement(lab: Lab, fake: FakeVBox) -> None:
    lab.write({"app": _guest(options={"disk_format": "vmdk"})})
    lab.applied()
    lab.clean()
    state = fake.load()
    assert sorted((m["format"], m["location"].rsplit(".", 1)[1]) for m in
                  state["hdds"].values()) == [("VMDK", "vmdk"), ("VMDK", "vmdk")]
    lab.write({"app": _guest()})
    plan = lab.plan()
    assert "options.disk_format" in plan.stdout and "replace" in plan.stdout, plan.stdout
    lab.applied()
    assert {m["format"] for m in fake.load()["hdds"].values()} == {"VDI"}


@pytest.mark.simulator_only("reads the fake's state")
def test_destroy_leaves_no_vm_disk_or_seed(lab: Lab, fake: FakeVBox) -> None:
    lab.write({"app": _guest(power="running"), "db": _guest(networks=[])})
    lab.applied()
    state = fake.load()
    assert len(state["vms"]) == 2 and len(state["hdds"]) == 4 and len(state["dvds"]) == 2
    seeds = [dvd["location"] for dvd in state["dvds"].values()]
    lab.destroy()
    state = fake.load()
    assert (state["vms"], state["hdds"], state["dvds"]) == ({}, {}, {})
    assert not any(os.path.exists(seed) for seed in seeds)
