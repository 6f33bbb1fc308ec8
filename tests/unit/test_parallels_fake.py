"""The fake prlctl refuses what the real one refuses, with prlctl's own texts
(tests/support/parallels/fake.py; run in memory, and once as the installed program)."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import pytest
from support.parallels.fake import NOT_FOUND, empty_state, run
from support.parallels.install import FakeParallels


@pytest.fixture
def state(tmp_path: Path) -> dict[str, Any]:
    found = empty_state(str(tmp_path / "Parallels"))
    for argv in (["create", "web", "--distribution", "debian", "--no-hdd"],
                 ["set", "web", "--device-add", "hdd", "--size", "1024"]):
        _ok(argv, found)
    return found


def _ok(argv: list[str], state: dict[str, Any]) -> str:
    code, out, err, _ = run("prlctl", argv, state)
    assert code == 0, (argv, err)
    return out


def _refused(argv: list[str], state: dict[str, Any]) -> str:
    code, out, err, _ = run("prlctl", argv, state)
    assert (code, out) == (1, ""), (argv, out, err)
    return err


def _vm(state: dict[str, Any]) -> dict[str, Any]:
    (vm,) = state["vms"].values()
    return dict(vm)


def test_a_running_vm_cannot_be_started_reconfigured_or_deleted(state: dict[str, Any]) -> None:
    _ok(["start", "web"], state)
    assert "is already running" in _refused(["start", "web"], state)
    for change in (["--cpus", "2"], ["--memsize", "2048"], ["--device-add", "hdd"],
                   ["--device-del", "hdd0"], ["--device-set", "hdd0", "--size", "4096"],
                   ["--device-set", "net0", "--mac", "001C42000001"],
                   ["--device-add", "net", "--type", "shared"]):
        assert "virtual machine is running" in _refused(["set", "web", *change], state)
    assert "The virtual machine is currently running" in _refused(["delete", "web"], state)
    # what changes live: a NIC's network, the description
    _ok(["set", "web", "--device-set", "net0", "--type", "host", "--iface", "lab"], state)
    _ok(["set", "web", "--description", "notes"], state)
    assert _vm(state)["devices"]["net0"]["iface"] == "lab"
    _ok(["stop", "web"], state)
    assert "is not running" in _refused(["stop", "web"], state)


def test_a_paused_vm_cannot_be_stopped(state: dict[str, Any]) -> None:
    _ok(["start", "web"], state)
    state["vms"][_vm(state)["uuid"]]["state"] = "paused"
    assert 'is in the "paused" state' in _refused(["stop", "web"], state)
    _ok(["resume", "web"], state)
    _ok(["stop", "web", "--kill"], state)


def test_a_name_in_use_an_unknown_vm_and_missing_devices_are_refused(
        state: dict[str, Any]) -> None:
    assert "already exists" in _refused(["create", "web", "--distribution", "linux"], state)
    for argv in (["list", "nope", "--info", "--json"], ["start", "nope"], ["delete", "nope"],
                 ["set", "nope", "--cpus", "2"]):
        assert _refused(argv, state).strip() == NOT_FOUND
    assert "hdd7 does not exist" in _refused(["set", "web", "--device-del", "hdd7"], state)
    assert "smaller than the current one" in _refused(
        ["set", "web", "--device-set", "hdd0", "--size", "512"], state)
    assert "en9 does not exist" in _refused(
        ["set", "web", "--device-add", "net", "--type", "bridged", "--iface", "en9"], state)
    assert "does not exist" in _refused(
        ["set", "web", "--device-add", "cdrom", "--image", "/nowhere/cidata.iso"], state)


def test_delete_takes_the_bundle_and_a_disk_goes_with_its_image(state: dict[str, Any]) -> None:
    home = Path(_vm(state)["home"])
    image = Path(_vm(state)["devices"]["hdd0"]["image"])
    assert image.exists() and image.parent == home
    _ok(["set", "web", "--device-add", "hdd", "--size", "2048"], state)
    second = Path(_vm(state)["devices"]["hdd1"]["image"])
    _ok(["set", "web", "--device-del", "hdd1", "--destroy-image"], state)
    assert not second.exists()
    _ok(["delete", "web"], state)
    assert state["vms"] == {} and not home.exists()


def test_the_installed_programs_answer_json_and_log_every_call(tmp_path: Path) -> None:
    fake = FakeParallels(tmp_path / "mac")
    assert fake.program.read_text().startswith("#!") and " -S\n" in \
        fake.program.read_text().splitlines()[0] + "\n"
    made = subprocess.run([str(fake.program), "create", "a", "--distribution", "linux"],
                          capture_output=True, text=True, check=False)
    assert made.returncode == 0 and "successfully created" in made.stdout
    listed = subprocess.run([str(fake.program), "list", "--all", "--info", "--json"],
                            capture_output=True, text=True, check=False)
    (vm,) = json.loads(listed.stdout)
    assert (vm["Name"], vm["State"], vm["Hardware"]["hdd0"]["size"]) == ("a", "stopped",
                                                                         "65536Mb")
    nets = subprocess.run([str(tmp_path / "mac" / "prlsrvctl"), "net", "list", "--json"],
                          capture_output=True, text=True, check=False)
    assert {net["Network ID"] for net in json.loads(nets.stdout)} >= {"Shared", "Host-Only"}
    missing = subprocess.run([str(fake.program), "start", "b"], capture_output=True,
                             text=True, check=False)
    assert (missing.returncode, missing.stderr.strip()) == (1, NOT_FOUND)
    assert fake.calls() == [["create", "a", "--distribution", "linux"],
                            ["list", "--all", "--info", "--json"],
                            ["prlsrvctl", "net", "list", "--json"], ["start", "b"]]
