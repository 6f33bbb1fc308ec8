"""Faults on the fake Hyper-V host: a guest that ignores the shutdown request, a cmdlet
that fails half-way through a create, what Hyper-V cannot hold, names full of quotes.
Each ends with Hyper-V's own message shown and nothing of the stack left half-made."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from hyperv_lab import Lab
from support.hyperv.install import FakeHyperV

from provisioner.errors import UserError
from provisioner.plan.model import Action

pytestmark = pytest.mark.simulator_only("injects faults into the fake PowerShell")


def _guest(name: str = "app", cpus: int = 1, extra: str = "") -> str:
    return f"""
guests:
  "{name}":
    provider: hv
    cpus: {cpus}
    memory: 512MiB
    disks: [{{ size: 1GiB }}, {{ size: 1GiB }}]
    networks: [{{ host_network: "Default Switch" }}]
    cloud_init: {{ user_data: "#cloud-config\\n" }}
{extra}"""


def test_a_guest_that_ignores_the_shutdown_is_turned_off(lab: Lab, fake: FakeHyperV) -> None:
    assert lab.apply(_guest(), shutdown_timeout=1)[1].ok
    with fake.edit() as state:
        state["faults"]["ignore_shutdown"] = True
    start = len(fake.scripts())
    assert lab.apply(_guest(cpus=2), shutdown_timeout=1)[1].ok
    stops = [script.splitlines()[-1].rsplit("| ", 1)[1] for script in fake.scripts()[start:]
             if "Stop-VM" in script]
    assert stops == ["Stop-VM -Force", "Stop-VM -TurnOff -Force"], stops
    assert (fake.vm("app")["ProcessorCount"], fake.vm("app")["State"]) == (2, 2)


def test_a_create_that_fails_half_way_leaves_nothing(lab: Lab, fake: FakeHyperV) -> None:
    with fake.edit() as state:
        state["faults"]["fail"]["Add-VMHardDiskDrive"] = (
            "Failed to add device 'Virtual Hard Disk'.\nThe specified location is already in "
            "use.")
    _plan, result = lab.apply(_guest())
    assert not result.ok
    text = str(result)
    assert "Add-VMHardDiskDrive: Failed to add device 'Virtual Hard Disk'. The specified " \
           "location is already in use." in text, text
    state = fake.load()
    assert (state["vms"], state["vhds"], os.listdir(fake.root)) == ({}, {}, [])
    assert lab.apply(_guest())[1].ok


def test_a_folder_someone_had_under_the_vms_name_is_left_alone(lab: Lab,
                                                              fake: FakeHyperV) -> None:
    """Found by writing a lab from the docs: a failed create removed the folder named
    for the VM with a file a person had put there. Each create now makes its own."""
    theirs = fake.root / "app" / "Virtual Hard Disks" / "app-disk0.vhdx"
    theirs.parent.mkdir(parents=True)
    theirs.write_bytes(b"not ours")
    with fake.edit() as state:
        state["faults"]["fail"]["Add-VMDvdDrive"] = "Injected failure."
    assert not lab.apply(_guest())[1].ok
    assert theirs.read_bytes() == b"not ours"
    assert lab.apply(_guest())[1].ok and lab.destroy(_guest()).ok
    assert os.listdir(fake.root) == ["app"] and theirs.exists()


def test_what_hyper_v_cannot_hold_is_refused_at_its_field(lab: Lab) -> None:
    body = _guest(extra="    options: { generation: 1, secure_boot: linux }\n").replace(
        '{ host_network: "Default Switch" }', '{ host_network: "Defualt Switch" }, '
        '{ bridge: eth0 }').replace("{ size: 1GiB }]", "{ size: 1GiB, pool: fast }]")
    with pytest.raises(UserError) as refused:
        lab.plan(body)
    text = str(refused.value)
    for expected in ("networks[0].host_network", "'Defualt Switch': no such virtual switch",
                     "Default Switch", "networks[1].bridge", "disks[1].pool",
                     "options.secure_boot", "generation 1 VMs have no UEFI secure boot"):
        assert expected in text, (expected, text)


def test_a_folder_full_of_quotes_is_carried_intact(lab: Lab, fake: FakeHyperV) -> None:
    """The stack's names allow no quotes; a block's path does: it reaches the host as
    written (a stack's switch names are held to letters, digits and - _ . / : @ +)."""
    folder = fake.directory / "it's $(Stop-Computer); my \u2019VMs"
    assert lab.apply(_guest(), path=str(folder))[1].ok
    vm = fake.vm("app")
    made = Path(vm["Path"]).parent
    assert made.parent == folder and (made / "cidata.iso").exists()
    assert len(fake.load()["vhds"]) == 2
    assert lab.plan(_guest(), path=str(folder)).changes[0].action is Action.NOOP
    assert lab.destroy(_guest(), path=str(folder)).ok
    assert os.listdir(folder) == []
