"""Faults on the fake Mac: a guest that ignores ``prlctl stop``, a VM busy with another
operation for a moment, a command that fails half-way through a create, a name another
VM holds, what Parallels cannot hold, an unreachable SSH host. Each ends with prlctl's
own message shown and nothing of the stack left half-made."""

from __future__ import annotations

from typing import Any

import pytest
from prl_lab import Lab, fake_block
from support.parallels.install import FakeParallels

pytestmark = [pytest.mark.integration,
              pytest.mark.simulator_only("injects faults into the fake prlctl")]


def _guest(**fields: Any) -> dict[str, Any]:
    return {"cpus": 1, "memory": "256MiB", "disks": [{"size": "1GiB"}],
            "networks": [{"host_network": "shared"}], "power": "running", **fields}


def test_a_guest_that_ignores_stop_is_killed_and_a_busy_vm_is_retried(
        lab: Lab, fake: FakeParallels) -> None:
    lab.write({"app": _guest()})
    lab.applied()
    with fake.edit() as state:
        state["faults"]["ignore_shutdown"] = True
        state["faults"]["fail"]["set"] = (
            "Failed to configure the VM: Unable to perform the action because the virtual "
            "machine is busy. Another operation is in progress. Please try again later.")
    lab.write({"app": _guest(cpus=2)})
    start = len(fake.calls())
    lab.applied()
    done = [argv[:3] for argv in fake.calls()[start:] if argv[0] in ("stop", "set")]
    assert done == [["stop", "app"], ["stop", "app", "--kill"], ["set", "app", "--cpus"],
                    ["set", "app", "--cpus"]], done  # the busy set was tried again
    assert (fake.vm("app")["cpus"], fake.vm("app")["state"]) == (2, "running")


def test_a_create_that_fails_half_way_leaves_nothing(lab: Lab, fake: FakeParallels) -> None:
    with fake.edit() as state:
        state["faults"]["fail"]["start"] = (
            "Failed to start the VM: Unable to allocate memory for the virtual machine.")
    lab.write({"app": _guest(disks=[{"size": "1GiB"}, {"size": "1GiB"}],
                             cloud_init={"user_data": "#cloud-config\n"})})
    result = lab.apply()
    assert result.returncode == 1
    assert "Unable to allocate memory" in result.stdout + result.stderr
    state = fake.load()
    assert state["vms"] == {}
    folder = fake.directory / "Parallels" / "provisioner-lab"
    assert not any(folder.iterdir()), "a bundle outlived its failed create"


def test_a_name_in_use_and_what_parallels_cannot_hold_are_refused_at_plan_time(
        lab: Lab, fake: FakeParallels) -> None:
    fake.add_vm("app")
    lab.write({"app": _guest(), "db": _guest(
        networks=[{"host_network": "shared", "forwards": [{"host": 2222, "guest": 22}]},
                  {"host_network": "host:lba"}, {"bridge": "en9"},
                  {"host_network": "nat"}],
        disks=[{"size": "1GiB", "pool": "fast"}])})
    result = lab.plan()
    output = result.stdout + result.stderr
    assert result.returncode == 1, output
    for expected in ("untagged", "networks[0].forwards", "'lba': no such host-only network",
                     "lab", "'en9': no such interface", "networks[3].host_network",
                     "'nat' is not a Parallels network", "disks[0].pool"):
        assert expected in output, (expected, output)
    assert len(fake.load()["vms"]) == 1


def test_an_unreachable_ssh_host_names_the_host(tmp_path: Any) -> None:
    lab = Lab(tmp_path / "lab", fake_block(tmp_path / "prlctl", host="nobody@mac.invalid"))
    lab.write({"app": _guest()})
    result = lab.plan()
    assert result.returncode == 1
    assert "ssh to nobody@mac.invalid failed" in result.stdout + result.stderr
