"""Faults on the fake VMware host: a guest without VMware Tools (a soft stop fails), a
command that fails half-way through a create, a name another VM holds, what VMware
cannot hold refused at plan time, an unreachable SSH host. Each ends with VMware's own
message shown and nothing of the stack left half-made."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from support.vmware_desktop import FakeVmware
from vmware_lab import Lab

pytestmark = [pytest.mark.integration,
              pytest.mark.simulator_only("injects faults into the fake vmrun")]


def _guest(**fields: Any) -> dict[str, Any]:
    return {"cpus": 1, "memory": "256MiB", "disks": [{"size": "1GiB"}],
            "networks": [{"host_network": "nat"}], "power": "running", **fields}


def test_a_guest_without_vmware_tools_is_powered_off_hard(lab: Lab, fake: FakeVmware) -> None:
    lab.put(app=_guest())
    lab.applied()
    with fake.edit() as state:
        state["faults"]["no_tools"] = True
    lab.put(app=_guest(cpus=2))
    start = len(fake.calls())
    lab.applied()
    stops = [argv[2] for argv in fake.calls()[start:] if argv[0] == "stop"]
    assert stops == ["soft", "hard"], stops
    assert fake.vmx("app")["numvcpus"] == "2" and fake.running("app")


def test_a_create_that_fails_half_way_leaves_nothing(lab: Lab, fake: FakeVmware) -> None:
    with fake.edit() as state:
        state["faults"]["fail"]["create-disk"] = "Failed to create the disk: No space left"
    lab.put(app=_guest(disks=[{"size": "1GiB"}, {"size": "1GiB"}]))
    result = lab.cli("apply", "--auto-approve")
    assert result.returncode == 1
    assert "No space left" in result.stdout + result.stderr
    assert list(fake.basefolder.iterdir()) == []
    lab.applied()
    lab.clean()


def test_a_name_another_vm_holds_is_refused_at_plan_time(lab: Lab, fake: FakeVmware) -> None:
    fake.add_vm("app")
    lab.put(app=_guest())
    result = lab.cli("plan")
    output = result.stdout + result.stderr
    assert result.returncode == 1, output
    assert "app" in output and "untagged" in output
    assert fake.names() == ["app"]


def test_what_vmware_cannot_hold_is_refused_at_its_field(lab: Lab) -> None:
    lab.put(app=_guest(networks=[{"host_network": "nat", "forwards": [{"host": 2222,
                                                                        "guest": 22}]},
                                 {"host_network": "vmnetx"}, {"bridge": "eth0"},
                                 {"host_network": "nat", "mac": "52:54:00:12:34:56"},
                                 {"host_network": "nat", "model": "virtio"}],
                       disks=[{"size": "1GiB", "pool": "fast"}], autostart=True))
    result = lab.cli("plan")
    output = result.stdout + result.stderr
    assert result.returncode == 1, output
    for expected in ("networks[0].forwards", "'vmnetx' is not a VMware network",
                     "networks[2].bridge", "outside VMware's static MAC range",
                     "'virtio' is not a VMware NIC model", "disks[0].pool", "autostart"):
        assert expected in output, (expected, output)


def test_an_unreachable_ssh_host_names_the_host(tmp_path: Path, fake: FakeVmware) -> None:
    lab = Lab(tmp_path / "ssh-lab", fake.block(host="nobody@vmware.invalid"))
    lab.put(app=_guest())
    result = lab.cli("plan")
    assert result.returncode == 1
    assert "ssh to nobody@vmware.invalid failed" in result.stdout + result.stderr
