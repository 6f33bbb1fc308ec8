"""The qemu provider with another architecture: ``arch: aarch64`` runs
qemu-system-aarch64 (TCG) on the ``virt`` machine. The guests boot nothing (no
firmware, a blank disk): what is checked is that QEMU accepts the command line
the provider writes for that architecture, answers QMP (a no-change re-plan),
restarts on a memory change, and leaves nothing after destroy. No aarch64 OS has
been booted by these tests (docs/providers/qemu.md, "Known limits")."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from support.qemu_lab import QemuLab, lab_for

STACK = """apiVersion: provisioner/v1
stack: qemu-arm
providers:
  local: {{ type: qemu, dir: .provisioner/qemu, arch: aarch64, accel: tcg,
           start_timeout: 0.5, stop_timeout: 1 }}
guests:
  arm:
    provider: local
    memory: {memory}
    disks: [ {{ size: 64MiB }} ]
"""


@pytest.fixture
def lab(tmp_path: Path) -> Iterator[QemuLab]:
    if shutil.which("qemu-system-aarch64") is None:
        pytest.skip("qemu-system-aarch64 is not installed (scripts/testbed install does)")
    yield from lab_for(tmp_path, None, "qemu-arm")


def _argv(pid: int) -> list[str]:
    return Path(f"/proc/{pid}/cmdline").read_bytes().decode().split("\0")


def test_an_aarch64_guest_runs_restarts_and_leaves_nothing(lab: QemuLab) -> None:
    (lab.directory / "stack.yaml").write_text(STACK.format(memory="128MiB"), encoding="utf-8")
    lab.apply()
    first = lab.pid("arm")
    assert first is not None
    argv = _argv(first)
    assert Path(argv[0]).name == "qemu-system-aarch64"
    assert argv[argv.index("-machine") + 1] == "virt"
    assert lab.changes() == {}

    (lab.directory / "stack.yaml").write_text(STACK.format(memory="192MiB"), encoding="utf-8")
    assert "requires restart" in lab.cli("plan").stdout
    lab.apply()
    second = lab.pid("arm")
    assert second not in (None, first)
    assert _argv(second)[_argv(second).index("-m") + 1] == "192M"  # type: ignore[arg-type]
    assert lab.changes() == {}

    lab.cli("destroy", "--auto-approve")
    assert lab.processes() == []
    assert not (lab.directory / ".provisioner").joinpath("qemu", lab.stack).exists()
