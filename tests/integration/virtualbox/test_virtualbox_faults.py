"""Faults on the fake VirtualBox host: a guest that ignores the power button, a VM
locked by another session for a moment, a command that fails half-way through a
create, a name another VM holds, an unreachable SSH host. Each ends with VirtualBox's
own message shown and nothing of the stack left half-made."""

from __future__ import annotations

from typing import Any

import pytest
from support.vbox import FakeVBox
from vbox_lab import Lab, fake_block

pytestmark = [pytest.mark.integration,
              pytest.mark.simulator_only("injects faults into the fake VBoxManage")]


def _guest(**fields: Any) -> dict[str, Any]:
    return {"cpus": 1, "memory": "256MiB", "disks": [{"size": "1GiB"}],
            "networks": [{"host_network": "nat"}], "power": "running", **fields}


def test_a_guest_that_ignores_the_power_button_is_powered_off(lab: Lab,
                                                              fake: FakeVBox) -> None:
    lab.write({"app": _guest()})
    lab.applied()
    with fake.edit() as state:
        state["faults"]["ignore_acpi"] = True
    lab.write({"app": _guest(cpus=2)})
    start = len(fake.calls())
    lab.applied()
    stops = [argv[2] for argv in fake.calls()[start:] if argv[0] == "controlvm"]
    assert stops == ["acpipowerbutton", "poweroff"], stops
    assert (fake.vm("app")["cpus"], fake.vm("app")["state"]) == (2, "running")


def test_a_vm_locked_for_a_moment_is_retried(lab: Lab, fake: FakeVBox) -> None:
    lab.write({"app": _guest(power="stopped")})
    lab.applied()
    with fake.edit() as state:
        state["faults"]["fail"]["modifyvm"] = (
            "The machine 'app' is already locked for a session (or being unlocked)")
    lab.write({"app": _guest(power="stopped", cpus=3)})
    lab.applied()
    assert fake.vm("app")["cpus"] == 3
    assert [argv[0] for argv in fake.calls()].count("modifyvm") >= 3  # create, failed, retry


def test_a_create_that_fails_half_way_leaves_nothing(lab: Lab, fake: FakeVBox) -> None:
    with fake.edit() as state:
        state["faults"]["fail"]["storageattach"] = (
            "Could not find a controller named 'SATA'")
    lab.write({"app": _guest(disks=[{"size": "1GiB"}, {"size": "1GiB"}],
                             cloud_init={"user_data": "#cloud-config\n"})})
    result = lab.apply()
    assert result.returncode == 1
    assert "Could not find a controller named 'SATA'" in result.stdout + result.stderr
    state = fake.load()
    assert (state["vms"], state["hdds"], state["dvds"]) == ({}, {}, {})
    lab.applied()
    lab.clean()


def test_a_name_another_vm_holds_is_refused_at_plan_time(lab: Lab, fake: FakeVBox) -> None:
    fake.add_vm("app")
    lab.write({"app": _guest()})
    result = lab.plan()
    assert result.returncode == 1, result.stdout
    assert "app" in result.stdout + result.stderr and "untagged" in result.stdout + result.stderr
    assert len(fake.load()["vms"]) == 1


def test_what_virtualbox_cannot_hold_is_refused_at_its_field(lab: Lab) -> None:
    lab.write({"app": _guest(networks=[{"host_network": "intnet:lab",
                                        "forwards": [{"host": 2222, "guest": 22}]},
                                       {"host_network": "hostonly:vboxnet9"},
                                       {"bridge": "eht0"}],
                             disks=[{"size": "1GiB", "pool": "fast"}])})
    result = lab.plan()
    output = result.stdout + result.stderr
    assert result.returncode == 1, output
    for expected in ("networks[0].forwards", "port forwards need host_network: nat",
                     "'vboxnet9': no such interface", "'eht0': no such interface", "eth0",
                     "disks[0].pool"):
        assert expected in output, (expected, output)


def test_an_unreachable_ssh_host_names_the_host(tmp_path: Any) -> None:
    lab = Lab(tmp_path / "lab", fake_block(tmp_path / "VBoxManage", host="nobody@vbox.invalid"))
    lab.write({"app": _guest()})
    result = lab.plan()
    assert result.returncode == 1
    assert "ssh to nobody@vbox.invalid failed" in result.stdout + result.stderr
