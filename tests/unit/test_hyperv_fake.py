"""The fake PowerShell refuses what Hyper-V refuses, with its error records
(tests/support/hyperv/pwsh.py; run in memory, without the executable), and lets
through what Hyper-V lets through: a second VM of one name, a start of a running VM
(a warning only), a SCSI disk grown online."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from support.hyperv.pwsh import ALREADY, empty_state, run
from support.hyperv.syntax import HEADER

pytestmark = pytest.mark.unit


def _script(*lines: str) -> str:
    return "\n".join((*HEADER, *lines)) + "\n"


def _ok(state: dict[str, Any], *lines: str) -> str:
    code, out, err = run(_script(*lines), state)
    assert code == 0, err
    return out


def _refused(state: dict[str, Any], *lines: str) -> str:
    code, _out, err = run(_script(*lines), state)
    assert code == 1, _out
    _first, *rest = err.splitlines()
    assert any(line.startswith("At line:") for line in rest), err
    assert "FullyQualifiedErrorId" in err
    return err


@pytest.fixture
def state(tmp_path: Path) -> dict[str, Any]:
    return empty_state(str(tmp_path / "Hyper-V"))


def _vm(state: dict[str, Any], name: str = "web", generation: int = 2) -> str:
    out = _ok(state, f"$vm = New-VM -Name '{name}' -Generation {generation} "
                     "-MemoryStartupBytes 536870912 -NoVHD", "$vm.Id.ToString()")
    return out.strip().splitlines()[-1]


def _disk(state: dict[str, Any], tmp_path: Path, vm: str, kind: str, where: str) -> str:
    path = str(tmp_path / f"{vm}-{where}.vhdx")
    number, location = where.split(":")
    _ok(state, f"New-VHD -Path '{path}' -SizeBytes 1073741824 -Dynamic",
        f"Get-VM -Id '{vm}' | Add-VMHardDiskDrive -ControllerType '{kind}' -ControllerNumber "
        f"{number} -ControllerLocation {location} -Path '{path}'")
    return path


def test_a_name_in_use_makes_a_second_vm_as_hyper_v_does(state: dict[str, Any]) -> None:
    first, second = _vm(state), _vm(state)
    assert first != second and [vm["Name"] for vm in state["vms"].values()] == ["web", "web"]


def test_starting_a_running_vm_only_warns(state: dict[str, Any]) -> None:
    vm = _vm(state)
    _ok(state, f"Get-VM -Id '{vm}' | Start-VM")
    assert _ok(state, f"Get-VM -Id '{vm}' | Start-VM").strip() == ALREADY
    assert state["vms"][vm]["State"] == 2
    assert state["vms"][vm]["NetworkAdapters"][0]["MacAddress"] == "00155D000001"


@pytest.mark.parametrize(("line", "device"), [
    ("Set-VMProcessor -Count 2", "Processor"),
    ("Set-VMMemory -DynamicMemoryEnabled $false -StartupBytes 1073741824", "Memory"),
    ("Set-VMMemory -DynamicMemoryEnabled $true -StartupBytes 536870912", "Memory"),
    ("Set-VMFirmware -EnableSecureBoot 'Off'", "Firmware"),
])
def test_what_a_running_vm_cannot_change(state: dict[str, Any], line: str, device: str) -> None:
    vm = _vm(state)
    _ok(state, f"Get-VM -Id '{vm}' | Start-VM")
    err = _refused(state, f"Get-VM -Id '{vm}' | {line}")
    assert err.startswith(f"{line.split(maxsplit=1)[0]} : Failed to modify device '{device}'.")
    assert "'web' failed to modify device" in err and vm.upper() in err


def test_a_static_mac_changes_only_on_a_vm_that_is_off(state: dict[str, Any]) -> None:
    vm = _vm(state)
    line = (f"Get-VM -Id '{vm}' | Get-VMNetworkAdapter -Name 'Network Adapter' | "
            "Set-VMNetworkAdapter -StaticMacAddress '00155D001234'")
    _ok(state, line)
    _ok(state, f"Get-VM -Id '{vm}' | Start-VM")
    assert "Failed to modify device 'Network Adapter'" in _refused(state, line)


def test_ide_disks_change_only_off_and_scsi_disks_grow_online(state: dict[str, Any],
                                                             tmp_path: Path) -> None:
    old, new = _vm(state, "old", 1), _vm(state, "new", 2)
    ide, scsi = _disk(state, tmp_path, old, "IDE", "0:0"), _disk(state, tmp_path, new, "SCSI",
                                                                  "0:0")
    _ok(state, f"Get-VM -Id '{old}' | Start-VM", f"Get-VM -Id '{new}' | Start-VM")
    assert "being used by another process" in _refused(
        state, f"Resize-VHD -Path '{ide}' -SizeBytes 2147483648")
    _ok(state, f"Resize-VHD -Path '{scsi}' -SizeBytes 2147483648")
    assert state["vhds"][scsi]["Size"] == 2 * 2**30
    assert "smaller than the minimum" in _refused(
        state, f"Resize-VHD -Path '{scsi}' -SizeBytes 1073741824")
    assert "failed to add device" in _refused(
        state, f"New-VHD -Path '{tmp_path}/x.vhdx' -SizeBytes 1048576 -Dynamic",
        f"Get-VM -Id '{old}' | Add-VMHardDiskDrive -ControllerType 'IDE' -ControllerNumber 0 "
        f"-ControllerLocation 1 -Path '{tmp_path}/x.vhdx'")
    assert "failed to remove device" in _refused(
        state, f"Get-VM -Id '{old}' | Get-VMHardDiskDrive -ControllerType 'IDE' "
               "-ControllerNumber 0 -ControllerLocation 0 | Remove-VMHardDiskDrive")


def test_a_disk_a_running_vm_holds_cannot_be_deleted(state: dict[str, Any],
                                                     tmp_path: Path) -> None:
    vm = _vm(state)
    path = _disk(state, tmp_path, vm, "SCSI", "0:0")
    _ok(state, f"Get-VM -Id '{vm}' | Start-VM")
    err = _refused(state, f"Remove-Item -LiteralPath '{path}' -Force")
    assert err.startswith(f"Remove-Item : Cannot remove item {path}: The process cannot "
                          f"access the file '{path}' because it is being used by another")
    assert "RemoveFileSystemItemIOError" in err and Path(path).exists()
    assert "current state" in _refused(state, f"Get-VM -Id '{vm}' | Remove-VM -Force")
    _ok(state, f"Get-VM -Id '{vm}' | Stop-VM -TurnOff -Force",
        f"Get-VM -Id '{vm}' | Remove-VM -Force", f"Remove-Item -LiteralPath '{path}' -Force")
    assert state["vms"] == {} and state["vhds"] == {} and not Path(path).exists()


def test_unknown_vms_switches_and_files(state: dict[str, Any], tmp_path: Path) -> None:
    err = _refused(state, "Get-VM -Id 'nope' | Start-VM")
    assert err.startswith('Get-VM : Hyper-V was unable to find a virtual machine with ID "nope".')
    vm = _vm(state)
    assert 'unable to find a virtual switch with name "LAN"' in _refused(
        state, f"Get-VM -Id '{vm}' | Add-VMNetworkAdapter -Name 'net0' -SwitchName 'LAN'")
    assert "cannot find the file" in _refused(
        state, f"Get-VM -Id '{vm}' | Add-VMDvdDrive -ControllerNumber 0 -ControllerLocation 63 "
               f"-Path '{tmp_path}/missing.iso'")
    assert "Cannot find path" in _refused(state, f"Remove-Item -LiteralPath '{tmp_path}/no' "
                                                 "-Force")
    assert "is not recognized" in _refused(state, "Invoke-WebRequest -Uri 'http://x'")


def test_a_failing_statement_ends_the_script_where_it_fails(state: dict[str, Any]) -> None:
    vm = _vm(state)
    state["faults"]["fail"]["Set-VMProcessor"] = "Injected failure."
    err = _refused(state, f"Get-VM -Id '{vm}' | Set-VM -Notes 'one'",
                   f"Get-VM -Id '{vm}' | Set-VMProcessor -Count 2",
                   f"Get-VM -Id '{vm}' | Set-VM -Notes 'two'")
    assert err.startswith("Set-VMProcessor : Injected failure.\nAt line:4 char:")
    assert state["vms"][vm]["Notes"] == "one" and state["vms"][vm]["ProcessorCount"] == 1


def test_reads_answer_convertto_json_shapes(state: dict[str, Any]) -> None:
    vm = _vm(state, "old", 1)
    document = json.loads(_ok(state, "# read: inventory", "pipeline"))
    (shown,) = document["VMs"]
    assert (shown["State"], shown["Generation"], shown["SecureBoot"]) == (3, 1, False)
    assert shown["DvdDrives"] == [{"ControllerType": 0, "ControllerNumber": 1,
                                   "ControllerLocation": 0, "Path": None}]
    assert json.loads(_ok(state, f"# read: vm '{vm}'", "x"))[0]["Id"] == vm
    assert json.loads(_ok(state, "# read: vm 'gone'", "x")) == []
