"""A guest's life on a Mac with Parallels Desktop through the CLI: apply, a clean re-plan,
changes that restart it and changes that do not, a disk grown, destroy (a disk grown on a
running guest is a restart: the contract suite's honesty check shows it). Runs on the
fake prlctl, or on the real Parallels Desktop PROVISIONER_TEST_PARALLELS names; what
the Mac was asked is checked in the fake's command log where the fake runs."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from prl_lab import Lab
from support.parallels.install import FakeParallels

pytestmark = pytest.mark.integration


def _guest(**fields: Any) -> dict[str, Any]:
    guest: dict[str, Any] = {
        "cpus": 1, "memory": "256MiB", "disks": [{"size": "1GiB"}, {"size": "512MiB"}],
        "networks": [{"host_network": "shared"}, {"host_network": "host"}],
        "cloud_init": {"user_data": "#cloud-config\nhostname: app\n"}, "power": "stopped",
    }
    guest.update(fields)
    return guest


def test_apply_replan_change_and_destroy(host: Lab) -> None:
    host.write({"app": _guest()})
    host.applied()
    host.clean()

    host.write({"app": _guest(cpus=2, disks=[{"size": "2GiB"}, {"size": "512MiB"}])})
    shown = host.applied()  # apply prints its plan first
    assert "cpus" in shown and "disks[0].size" in shown, shown
    host.clean()

    host.write({"app": _guest(cpus=2, disks=[{"size": "2GiB"}], power="running")})
    host.applied()
    host.clean()
    host.destroy()


@pytest.mark.simulator_only("reads the fake's command log and state")
def test_a_running_guest_restarts_only_when_the_plan_says_so_and_destroy_leaves_nothing(lab: Lab,
                                                             fake: FakeParallels) -> None:
    lab.write({"app": _guest(power="running")})
    lab.applied()

    lab.write({"app": _guest(power="running", networks=[{"host_network": "shared"},
                                                        {"host_network": "host:lab"}])})
    start = len(fake.calls())
    shown = lab.applied()  # apply prints its plan first
    assert "networks[1]" in shown and "requires restart" not in shown, shown
    done = [argv[:5] for argv in fake.calls()[start:] if argv[0] in ("set", "start", "stop")]
    assert done == [["set", "app", "--device-set", "net1", "--type"]], done
    assert fake.vm("app")["devices"]["net1"]["iface"] == "lab"

    lab.write({"app": _guest(power="running", cpus=2, networks=[
        {"host_network": "shared"}, {"host_network": "host:lab"}])})
    start = len(fake.calls())
    assert "requires restart" in lab.applied()
    verbs = [argv[0] for argv in fake.calls()[start:] if argv[0] in ("set", "start", "stop")]
    assert verbs == ["stop", "set", "start"], verbs
    assert (fake.vm("app")["cpus"], fake.vm("app")["state"]) == (2, "running")

    home = Path(fake.vm("app")["home"])
    assert (home / "cidata.iso").exists() and len(list(home.glob("harddisk*.hdd"))) == 2
    lab.destroy()
    assert fake.load()["vms"] == {}
    assert not home.exists(), "the bundle (disks, seed) outlived its VM"
    assert not home.parent.exists(), "the stack's folder outlived its last VM"
