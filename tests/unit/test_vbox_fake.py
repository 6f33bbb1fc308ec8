"""The fake VBoxManage refuses what the real one refuses, with VirtualBox's own texts
(tests/support/vbox/fake.py; run in memory, without the executable)."""

from __future__ import annotations

from typing import Any

import pytest
from support.vbox.fake import empty_state, run


@pytest.fixture
def state(tmp_path: Any) -> dict[str, Any]:
    found = empty_state(str(tmp_path / "VMs"))
    for argv in (["createvm", "--name=web", "--register"],
                 ["storagectl", "web", "--name=SATA", "--add=sata"],
                 ["createmedium", "disk", f"--filename={tmp_path}/web.vdi", "--size=1024"]):
        code, _out, err = run(argv, found)
        assert code == 0, err
    (disk,) = found["hdds"]
    code, _out, err = run(["storageattach", "web", "--storagectl=SATA", "--port=0",
                           "--type=hdd", f"--medium={disk}"], found)
    assert code == 0, err
    return found


def _refused(argv: list[str], state: dict[str, Any]) -> str:
    code, out, err = run(argv, state)
    assert (code, out) == (1, ""), (argv, out, err)
    assert err.startswith("VBoxManage: error: ")
    return err


def test_a_running_vm_cannot_be_started_modified_or_unregistered(state: dict[str, Any]) -> None:
    assert run(["startvm", "web", "--type", "headless"], state)[0] == 0
    assert "is already locked by a session" in _refused(["startvm", "web"], state)
    assert "is already locked for a session (or being unlocked)" in _refused(
        ["modifyvm", "web", "--cpus=2"], state)
    assert "while it is locked" in _refused(["unregistervm", "web", "--delete"], state)
    (disk,) = state["hdds"]
    assert "is locked for writing" in _refused(["modifymedium", "disk", disk, "--resize=2048"],
                                               state)
    assert run(["controlvm", "web", "poweroff"], state)[0] == 0
    assert "Machine 'web' is not currently running" in _refused(
        ["controlvm", "web", "poweroff"], state)


def test_a_name_in_use_and_an_attached_disk_are_refused(state: dict[str, Any]) -> None:
    assert "Machine settings file '" in _refused(["createvm", "--name=web", "--register"],
                                                 state)
    (disk,) = state["hdds"]
    assert "still attached to 1 virtual machines" in _refused(
        ["closemedium", "disk", disk, "--delete"], state)
    assert "not implemented" in _refused(["modifymedium", "disk", disk, "--resize=512"], state)
    assert "Could not find a registered machine named 'db'" in _refused(
        ["showvminfo", "db"], state)


def test_unregister_with_delete_takes_the_disks(state: dict[str, Any]) -> None:
    assert run(["unregistervm", "web", "--delete"], state)[0] == 0
    assert (state["vms"], state["hdds"]) == ({}, {})
