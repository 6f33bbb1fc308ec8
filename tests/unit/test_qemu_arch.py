"""The architecture of a qemu provider block picks the machine type: pure."""

from __future__ import annotations

from pathlib import Path

import pytest

from provisioner.core.specs import GuestSpec
from provisioner.providers.qemu.command import arch_of, command_line
from provisioner.providers.qemu.files import GuestFiles


@pytest.mark.parametrize(("binary", "arch", "expected"), [
    ("qemu-system-x86_64", "x86_64", "x86_64"),
    ("/opt/qemu/bin/qemu-system-aarch64", "x86_64", "aarch64"),  # the binary wins
    ("/usr/local/bin/my-qemu", "riscv64", "riscv64"),
])
def test_arch_is_the_binarys_else_the_blocks(binary: str, arch: str, expected: str) -> None:
    assert arch_of(binary, arch) == expected


@pytest.mark.parametrize(("arch", "options", "machine"), [
    ("x86_64", {}, ["-machine", "q35"]), ("aarch64", {}, ["-machine", "virt"]),
    ("s390x", {}, []), ("aarch64", {"machine": "sbsa-ref"}, ["-machine", "sbsa-ref"]),
])
def test_the_machine_follows_the_architecture(arch: str, options: dict[str, str],
                                              machine: list[str], tmp_path: Path) -> None:
    guest = GuestSpec.of({"cpus": 1, "memory": 1 << 27, "options": options})
    argv = command_line(GuestFiles.at(tmp_path / "g"), guest, "tcg", arch=arch)
    assert argv[2:2 + len(machine)] == machine
    assert argv[2 + len(machine)] == "-accel"
