"""The fake vmrun / vmware-vdiskmanager refuses what the real ones refuse, with VMware's
texts, and keeps VMware's habits (tests/support/vmware_desktop/fake.py, run in memory)."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
from support.vmware_desktop.fake import empty_state, entries, run

VMX = ('.encoding = "UTF-8"\nconfig.version = "8"\nnumvcpus = "1"\nmemsize = "256"\n'
       'scsi0.present = "TRUE"\nscsi0:0.present = "TRUE"\nscsi0:0.fileName = "web-disk0.vmdk"\n'
       'ethernet0.present = "TRUE"\nethernet0.connectionType = "nat"\n'
       'ethernet0.addressType = "generated"\n')


@pytest.fixture
def state() -> dict[str, Any]:
    return empty_state()


@pytest.fixture
def vmx(tmp_path: Path, state: dict[str, Any]) -> str:
    path = tmp_path / "web" / "web.vmx"
    path.parent.mkdir()
    path.write_text(VMX, encoding="utf-8")
    assert run("vdiskmanager", ["-c", "-s", "1024MB", "-a", "lsilogic", "-t", "0",
                                str(path.parent / "web-disk0.vmdk")], state)[0] == 0
    return str(path)


def _refused(program: str, argv: list[str], state: dict[str, Any]) -> str:
    code, out = run(program, argv, state)
    assert code != 0, (argv, out)
    return out


def test_a_running_vm_cannot_be_started_again_or_deleted(vmx: str,
                                                         state: dict[str, Any]) -> None:
    assert run("vmrun", ["-T", "ws", "start", vmx, "nogui"], state) == (0, "")
    assert run("vmrun", ["-T", "ws", "list"], state)[1] == f"Total running VMs: 1\n{vmx}\n"
    running = "Error: The virtual machine should not be powered on. It is already running."
    assert _refused("vmrun", ["-T", "ws", "start", vmx], state).strip() == running
    assert _refused("vmrun", ["-T", "ws", "deleteVM", vmx], state).strip() == running
    assert run("vmrun", ["-T", "ws", "stop", vmx, "hard"], state)[0] == 0
    assert _refused("vmrun", ["-T", "ws", "stop", vmx, "soft"], state).strip() == \
        f"Error: The virtual machine is not powered on: {vmx}"


def test_an_unknown_vm_a_missing_disk_and_player_without_clones(
        vmx: str, state: dict[str, Any], tmp_path: Path) -> None:
    ghost = str(tmp_path / "ghost" / "ghost.vmx")
    assert _refused("vmrun", ["-T", "ws", "start", ghost], state).strip() == \
        f"Error: Cannot open VM: {ghost}, The virtual machine cannot be found"
    Path(vmx).with_name("web-disk0.vmdk").unlink()
    assert "Cannot open the disk" in _refused("vmrun", ["-T", "ws", "start", vmx], state)
    assert "not supported" in _refused("vmrun", ["-T", "player", "clone", vmx, "x.vmx", "full"],
                                       state)


def test_an_edit_made_while_running_is_lost_at_power_off(vmx: str,
                                                          state: dict[str, Any]) -> None:
    assert run("vmrun", ["-T", "ws", "start", vmx, "nogui"], state)[0] == 0
    started = entries(Path(vmx).read_text(encoding="utf-8"))
    assert started["ethernet0.generatedaddress"].startswith("00:0c:29:")
    Path(vmx).write_text(VMX.replace('numvcpus = "1"', 'numvcpus = "4"'), encoding="utf-8")
    assert run("vmrun", ["-T", "ws", "writeVariable", vmx, "runtimeConfig",
                         "guestinfo.kept", "yes"], state)[0] == 0
    assert run("vmrun", ["-T", "ws", "stop", vmx, "soft"], state)[0] == 0
    stopped = entries(Path(vmx).read_text(encoding="utf-8"))
    assert stopped["numvcpus"] == "1" and stopped["guestinfo.kept"] == "yes"
    assert stopped["uuid.bios"]


def test_a_static_mac_outside_vmwares_range_and_memory_not_in_4_mib(
        vmx: str, state: dict[str, Any]) -> None:
    text = VMX.replace('"generated"', '"static"\nethernet0.address = "00:50:56:40:00:01"')
    Path(vmx).write_text(text, encoding="utf-8")
    assert "Invalid MAC address" in _refused("vmrun", ["-T", "ws", "start", vmx], state)
    Path(vmx).write_text(VMX.replace('"256"', '"258"'), encoding="utf-8")
    assert "multiple of 4 MB" in _refused("vmrun", ["-T", "ws", "start", vmx], state)


def test_disks_a_running_vm_holds_cannot_grow_and_none_can_shrink(
        vmx: str, state: dict[str, Any]) -> None:
    disk = str(Path(vmx).with_name("web-disk0.vmdk"))
    assert "already exists" in _refused(
        "vdiskmanager", ["-c", "-s", "1MB", "-a", "lsilogic", "-t", "0", disk], state)
    assert run("vmrun", ["-T", "ws", "start", vmx, "nogui"], state)[0] == 0
    assert "Failed to lock the file" in _refused("vdiskmanager", ["-x", "2048MB", disk], state)
    assert run("vmrun", ["-T", "ws", "stop", vmx, "hard"], state)[0] == 0
    assert "must be larger" in _refused("vdiskmanager", ["-x", "512MB", disk], state)
    assert run("vdiskmanager", ["-x", "2048MB", disk], state)[0] == 0
    assert run("vmrun", ["-T", "ws", "deleteVM", vmx], state)[0] == 0
    assert not Path(vmx).parent.exists()


@pytest.mark.skipif(shutil.which("qemu-img") is None, reason="qemu-img is not installed")
def test_the_disks_it_makes_are_vmdk_files_qemu_img_reads(vmx: str,
                                                          state: dict[str, Any]) -> None:
    disk = str(Path(vmx).with_name("web-disk0.vmdk"))
    assert run("vdiskmanager", ["-x", "3072MB", disk], state)[0] == 0
    info = json.loads(subprocess.run(["qemu-img", "info", "--output=json", disk],
                                     capture_output=True, check=True).stdout)
    assert (info["format"], info["virtual-size"]) == ("vmdk", 3 * 1024**3)
    assert info["format-specific"]["data"]["create-type"] == "monolithicSparse"
    assert subprocess.run(["qemu-img", "check", disk], capture_output=True,
                          check=False).returncode == 0
