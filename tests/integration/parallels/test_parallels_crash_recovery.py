"""Crash recovery: ``provisioner apply`` SIGKILLed at a named point of a create (after
``prlctl create``, after the devices and the marker, after the start) or of a delete
(after ``prlctl delete``), then the next apply converges to exactly the declared
guests: no duplicate VM, no half-made VM, no bundle left behind.

To keep the run short, the kills come one after the other on one stack: each apply
after a kill finds what the last one left (a leftover to delete, a stopped guest to
start, a guest to delete again) and is itself killed at the next point; the last
apply must then converge. The points around the provider call (before:create,
after:create) are the engine's, tested with the other providers."""

from __future__ import annotations

import collections
from pathlib import Path

import pytest
from prl_lab import Lab
from support.parallels.install import FakeParallels

pytestmark = [pytest.mark.integration,
              pytest.mark.simulator_only("reads the fake's state after each kill")]

KILLS = [  # (guests declared, the point the apply is killed at), one after the other
    (2, "parallels:made:guests.app-1"), (2, "parallels:devices-made:guests.app-1"),
    (3, "parallels:started:guests.app-2"), (2, "parallels:deleted:app-2"),
]


def _write(lab: Lab, count: int) -> None:
    lab.write({"app": {"count": count, "memory": "256MiB",
                       "disks": [{"size": "1GiB"}, {"size": "1GiB"}],
                       "networks": [{"host_network": "shared"}],
                       "cloud_init": {"user_data": "#cloud-config\n"}}})


def _converges(lab: Lab, fake: FakeParallels, count: int, replan: bool = True) -> None:
    lab.applied()
    state = fake.load()
    names = collections.Counter(vm["name"] for vm in state["vms"].values())
    assert names == collections.Counter(f"app-{i}" for i in range(count)), names
    for vm in state["vms"].values():
        assert "provisioner-creating:" not in vm["description"], vm["name"]
        assert vm["state"] == "running"
        assert sum(key.startswith("hdd") for key in vm["devices"]) == 2
    bundles = {path.name for path in Path(state["home"], "provisioner-lab").iterdir()}
    assert bundles == {f"app-{i}.pvm" for i in range(count)}, "a bundle without its VM"
    if replan:
        lab.clean()


def test_a_create_or_delete_killed_at_each_point_converges(lab: Lab,
                                                           fake: FakeParallels) -> None:
    for count, point in KILLS:
        _write(lab, count)
        killed = lab.apply(kill_at=point)
        assert killed.returncode == -9, (point, killed.stdout + killed.stderr)
    _converges(lab, fake, 2)


def test_a_vm_killed_before_its_first_marker_is_made_again(lab: Lab,
                                                         fake: FakeParallels) -> None:
    """Killed between ``prlctl create`` and the creating line: a VM in the stack's folder
    with no marker at all, which the next create of that name deletes and makes again."""
    _write(lab, 1)
    fake.add_vm("app-0", folder=str(Path(fake.load()["home"], "provisioner-lab")))
    _converges(lab, fake, 1, replan=False)
