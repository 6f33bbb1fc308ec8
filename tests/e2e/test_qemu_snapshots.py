"""Snapshots with the qemu provider, through the CLI: refused while the guest runs
(stop it first), listed all the same; on the stopped guest, a snapshot undoes a
write into its disk (qemu-io pattern), and delete removes it."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from support.e2e import TinyGuest
from support.qemu_lab import QemuLab, lab_for


@pytest.fixture
def lab(tmp_path: Path, tiny_guest: TinyGuest) -> Iterator[QemuLab]:
    yield from lab_for(tmp_path, tiny_guest, "qemu-snapshots")


def _stopped(lab: QemuLab) -> None:
    stack = lab.directory / "stack.yaml"
    stack.write_text(stack.read_text().replace("    disks:", "    power: stopped\n    disks:"))


def qemu_io(disk: Path, command: str) -> str:
    return subprocess.run(["qemu-io", "-f", "qcow2", "-c", command, str(disk)],
                          capture_output=True, text=True, timeout=60, check=False).stdout


def test_snapshots_of_a_stopped_qemu_guest_and_a_clear_refusal_while_it_runs(
        lab: QemuLab) -> None:
    lab.write()
    lab.apply()
    assert lab.pid("tiny-0") is not None
    refused = lab.cli("snapshot", "create", "s1", check=False)
    assert refused.returncode == 1
    assert "guests.tiny-0 is running" in refused.stderr and "stop it first" in refused.stderr
    assert "Traceback" not in refused.stderr
    assert "No snapshots." in lab.cli("snapshot", "list").stdout  # read while it runs

    _stopped(lab)
    lab.apply()
    assert lab.pid("tiny-0") is None
    taken = lab.cli("snapshot", "create", "s1").stdout
    assert "guests.tiny-0: took snapshot s1 (disks)" in taken
    listed = lab.cli("snapshot", "list").stdout
    assert listed.splitlines()[1].split()[:2] == ["guests.tiny-0", "s1"], listed

    disk = lab.guests / "tiny-0" / "disk0.qcow2"
    qemu_io(disk, "write -P 0x5a 0 4k")
    assert "Pattern verification failed" not in qemu_io(disk, "read -P 0x5a 0 4k")
    reverted = lab.cli("snapshot", "revert", "s1", "--auto-approve").stdout
    assert "guests.tiny-0: reverted to s1, now stopped" in reverted
    assert "Pattern verification failed" in qemu_io(disk, "read -P 0x5a 0 4k")

    lab.cli("snapshot", "delete", "s1")
    assert "No snapshots." in lab.cli("snapshot", "list").stdout
    lab.cli("destroy", "--auto-approve")
    assert not (lab.directory / ".provisioner" / "qemu" / lab.stack).exists()
