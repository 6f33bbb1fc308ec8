"""Crash recovery: ``provisioner apply`` SIGKILLed at a named point of a create (after
``createvm``, after the disks and seed, after the start, around the provider call) or
of a delete (after ``unregistervm``), then a second apply converges to exactly the
declared guests: no duplicate VM, no half-made VM, no disk or seed left behind."""

from __future__ import annotations

import collections

import pytest
from support.vbox import FakeVBox
from vbox_lab import Lab

pytestmark = [pytest.mark.integration,
              pytest.mark.simulator_only("reads the fake's state after each kill")]

CREATE_POINTS = ["before:create:guests.app-1", "virtualbox:made:guests.app-1",
                 "virtualbox:devices-made:guests.app-1", "virtualbox:started:guests.app-1",
                 "after:create:guests.app-1"]


def _write(lab: Lab, count: int) -> None:
    lab.write({"app": {"count": count, "memory": "256MiB",
                       "disks": [{"size": "1GiB"}, {"size": "1GiB"}],
                       "networks": [{"host_network": "nat"}],
                       "cloud_init": {"user_data": "#cloud-config\n"}}})


def _converges(lab: Lab, fake: FakeVBox, count: int) -> None:
    lab.applied()
    state = fake.load()
    names = collections.Counter(vm["name"] for vm in state["vms"].values())
    assert names == collections.Counter(f"app-{i}" for i in range(count)), names
    for vm in state["vms"].values():
        assert "provisioner/creating" not in vm["extradata"], vm["name"]
        assert vm["state"] == "running"
    attached = {a["medium"] for vm in state["vms"].values() for a in vm["attachments"]}
    assert set(state["hdds"]) | set(state["dvds"]) == attached, "media left without a VM"
    assert len(state["hdds"]) == 2 * count
    lab.clean()


@pytest.mark.parametrize("point", CREATE_POINTS)
def test_a_create_killed_anywhere_converges(point: str, lab: Lab, fake: FakeVBox) -> None:
    _write(lab, 2)
    killed = lab.apply(kill_at=point)
    assert killed.returncode == -9, killed.stdout + killed.stderr
    _converges(lab, fake, 2)


def test_a_vm_killed_before_its_first_marker_is_made_again(lab: Lab, fake: FakeVBox) -> None:
    """Killed between ``createvm`` and the creating key: a VM in the stack's group with
    no marker at all, which the next create of that name removes and makes again."""
    _write(lab, 1)
    with fake.edit() as state:
        state["faults"]["fail"]["setextradata"] = "simulated crash"
    assert lab.apply().returncode == 1
    # the failed create removed its VM; make the half-made one by hand, as a kill leaves it
    fake.add_vm("app-0", groups=("/provisioner-lab",))
    _converges(lab, fake, 1)


@pytest.mark.parametrize("point", ["virtualbox:seed-dropped:app-2",
                                   "virtualbox:unregistered:app-2"])
def test_a_delete_killed_anywhere_converges(point: str, lab: Lab, fake: FakeVBox) -> None:
    _write(lab, 3)
    lab.applied()
    _write(lab, 2)
    killed = lab.apply(kill_at=point)
    assert killed.returncode == -9, killed.stdout + killed.stderr
    _converges(lab, fake, 2)
