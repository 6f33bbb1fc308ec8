"""Snapshots with the qemu provider, through the CLI. A stopped guest's snapshot undoes
a write into its disk (qemu-io pattern), and delete removes it. A running guest's
holds its memory: a file written in the guest's RAM file system after the snapshot
is gone after a revert in place (same QEMU process) and after a revert of the
stopped guest (QEMU started with -loadvm), reached over the real ssh client."""

from __future__ import annotations

import os
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from support.e2e import PROVISIONER, TinyGuest, boot_options, ssh_without_host_keys
from support.qemu_lab import QemuLab, free_port, lab_for


@pytest.fixture
def lab(tmp_path: Path, tiny_guest: TinyGuest) -> Iterator[QemuLab]:
    yield from lab_for(tmp_path, tiny_guest, "qemu-snapshots")


def _stopped(lab: QemuLab) -> None:
    stack = lab.directory / "stack.yaml"
    stack.write_text(stack.read_text().replace("    disks:", "    power: stopped\n    disks:"))


def qemu_io(disk: Path, command: str) -> str:
    return subprocess.run(["qemu-io", "-f", "qcow2", "-c", command, str(disk)],
                          capture_output=True, text=True, timeout=60, check=False).stdout


def test_snapshots_of_a_stopped_qemu_guest(lab: QemuLab) -> None:
    lab.write()
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


RUNNING = """apiVersion: provisioner/v1
stack: {stack}
providers:
  local: {{ type: qemu, dir: .provisioner/qemu, accel: tcg, stop_timeout: 30 }}
networks:
  outside: {{ provider: local, mode: user }}
guests:
  web:
    provider: local
    memory: 192MiB
    power: {power}
    disks: [ {{ size: 64MiB }} ]
    networks: [ {{ network: outside, forwards: [{{ host: {port}, guest: 22 }}] }} ]
    cloud_init:
      user_data: |
        #!/bin/sh
        mkdir -p /root/.ssh && chmod 700 /root/.ssh
        echo "{key}" > /root/.ssh/authorized_keys && chmod 600 /root/.ssh/authorized_keys
        dropbear -R -E -p 22
    ssh: {{ user: root, identity_file: {identity} }}
    wait_for: ssh
    wait_timeout: 240
    options: {{ {boot} }}
"""


def test_a_running_qemu_guests_snapshot_holds_its_memory(lab: QemuLab,
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    identity = lab.directory / "id_ed25519"
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(identity)],
                   check=True)
    port = free_port()

    def write(power: str) -> None:
        (lab.directory / "stack.yaml").write_text(RUNNING.format(
            stack=lab.stack, port=port, power=power, identity=identity,
            key=(lab.directory / "id_ed25519.pub").read_text().strip(),
            boot=boot_options(lab.tiny)), encoding="utf-8")

    monkeypatch.setenv("PATH", f"{ssh_without_host_keys(lab.directory)}:{os.environ['PATH']}")

    def ssh(command: str) -> str:
        deadline = time.monotonic() + 60
        while True:
            ran = subprocess.run([PROVISIONER, "ssh", "web", "-s", str(lab.directory), "--",
                                  command], capture_output=True, text=True, timeout=60,
                                 stdin=subprocess.DEVNULL, check=False)
            if ran.returncode == 0 or time.monotonic() > deadline:
                assert ran.returncode == 0, ran.stderr
                return ran.stdout.strip()
            time.sleep(1)

    write("running")
    lab.apply()
    ssh("echo before > /root/mark")
    taken = lab.cli("snapshot", "create", "s1").stdout
    assert "guests.web: took snapshot s1 (disks and memory)" in taken

    pid = lab.pid("web")
    ssh("echo after > /root/mark")
    reverted = lab.cli("snapshot", "revert", "s1", "--auto-approve").stdout
    assert "guests.web: reverted to s1, now running" in reverted
    assert lab.pid("web") == pid, "a revert in place keeps the QEMU process"
    assert ssh("cat /root/mark") == "before"

    ssh("echo after > /root/mark")
    write("stopped")
    lab.apply()
    assert lab.pid("web") is None
    lab.cli("snapshot", "revert", "s1", "--auto-approve")
    assert lab.pid("web") is not None, "a snapshot with memory brings the guest back running"
    assert ssh("cat /root/mark") == "before"

    lab.cli("snapshot", "delete", "s1")  # running: QEMU's snapshot-delete job
    assert "No snapshots." in lab.cli("snapshot", "list").stdout
    lab.cli("destroy", "--auto-approve")
