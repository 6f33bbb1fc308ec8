"""The qemu provider end to end: the CLI boots tiny guests as QEMU processes (TCG, no
libvirtd), in a directory beside the stack, and the plan's word is what happens.

Each test checks what is really there: QEMU processes (by pid and command line),
their console (the tiny guest's ``TINY:`` markers), and the files of the provider's
directory, which destroy must leave empty.
"""

from __future__ import annotations

import hashlib
import os
import pwd
import shutil
import signal
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from support.e2e import TinyGuest, wait_serial
from support.qemu_lab import QemuLab, lab_for, running

CREATE_POINTS = ["before:create:guests.tiny-1", "qemu:staged:guests.tiny-1",
                 "qemu:marked:guests.tiny-1",
                 "qemu:disks-made:guests.tiny-1", "qemu:started:guests.tiny-1",
                 "after:create:guests.tiny-1", "recorded:create:guests.tiny-1"]


@pytest.fixture
def lab(tmp_path: Path, tiny_guest: TinyGuest,
        request: pytest.FixtureRequest) -> Iterator[QemuLab]:
    name = "qemu-" + request.node.name.removeprefix("test_")[:20].replace("_", "-")
    yield from lab_for(tmp_path, tiny_guest, name.rstrip("-[").replace("[", "-").replace("]", ""))


def test_a_guest_boots_changes_as_planned_and_leaves_nothing(lab: QemuLab) -> None:
    lab.write()
    lab.apply()
    console = lab.console("tiny-0")
    wait_serial(console, r"^TINY: seed instance-id=\S+$")  # the NoCloud seed reached it
    wait_serial(console, r"^TINY: acpi$")
    assert lab.changes() == {}, "a plan right after the apply has changes"
    first = lab.pid("tiny-0")
    assert first is not None

    lab.write(size="96MiB")  # grows online: same process
    assert lab.changes() == {"guests.tiny-0": "update"}
    lab.apply()
    assert lab.pid("tiny-0") == first
    assert lab.changes() == {}

    lab.write(size="96MiB", memory="256MiB")  # a restart, with a clean ACPI shutdown
    plan = lab.cli("plan").stdout
    assert "requires restart" in plan
    lab.apply()
    second = lab.pid("tiny-0")
    assert second is not None and second != first
    wait_serial(console, r"^TINY: poweroff$")
    assert lab.changes() == {}

    os.kill(second, signal.SIGKILL)  # drift: killed by hand
    time.sleep(0.5)
    plan = lab.cli("plan").stdout
    assert 'power: "stopped" -> "running"' in plan, plan
    lab.apply()
    assert lab.pid("tiny-0") not in (None, second)

    lab.cli("destroy", "--auto-approve")
    assert lab.processes() == []
    assert not (lab.directory / ".provisioner" / "qemu" / lab.stack).exists()


@pytest.mark.parametrize("point", CREATE_POINTS)
def test_a_create_killed_anywhere_converges(lab: QemuLab, point: str) -> None:
    lab.write(count=2)
    killed = lab.apply(kill_at=point, check=False)
    assert killed.returncode == -signal.SIGKILL, f"not killed at {point}:\n{killed.stdout}"
    lab.apply()
    names = sorted(path.name for path in lab.guests.iterdir())
    assert names == ["tiny-0", "tiny-1"], names
    assert all(lab.pid(name) for name in names), "a guest is not running"
    assert len(lab.processes()) == 2, f"duplicate QEMU processes after a kill at {point}"
    assert lab.changes() == {}
    lab.cli("destroy", "--auto-approve")
    assert lab.processes() == []
    assert not (lab.directory / ".provisioner" / "qemu" / lab.stack).exists()


def test_a_create_killed_before_its_directory_is_in_place_leaves_nothing(
        lab: QemuLab) -> None:
    lab.write(count=2)
    killed = lab.apply(kill_at="qemu:staged:guests.tiny-1", check=False)
    assert killed.returncode == -signal.SIGKILL, killed.stdout
    assert (lab.guests / ".tiny-1.new" / "creating.json").exists()
    lab.write(count=1)  # the half-made guest left the stack before the next run
    tiny_1 = [change["action"] for change in lab.plan_json()["changes"]  # type: ignore[attr-defined]
              if change["address"] == "guests.tiny-1"]
    assert tiny_1 == ["delete"], tiny_1  # (tiny-0, killed as it was made, may show too)
    lab.apply()
    assert sorted(path.name for path in lab.guests.iterdir()) == ["tiny-0"]
    lab.cli("destroy", "--auto-approve")
    assert not (lab.directory / ".provisioner" / "qemu" / lab.stack).exists()


@pytest.fixture(scope="session")
def unprivileged() -> Path:
    """``scripts/unprivileged``, installed: provisioner[qemu] runnable as nobody."""
    script = Path(__file__).resolve().parents[2] / "scripts" / "unprivileged"
    done = subprocess.run([str(script), "install"], capture_output=True, text=True,
                          timeout=600, check=False)
    assert done.returncode == 0, f"scripts/unprivileged install failed:\n{done.stderr}"
    return script


def test_the_example_runs_as_an_unprivileged_user(unprivileged: Path) -> None:
    """stacks/qemu-lab applied by nobody: no root, no libvirtd; each guest gets its
    cloud-init user-data and its private network address; destroy leaves no process and
    no guest file."""
    example = Path(__file__).resolve().parents[2] / "stacks" / "qemu-lab"
    directory = Path(tempfile.mkdtemp(prefix="qemu-lab-")) / "lab"
    shutil.copytree(example, directory)
    subprocess.run(["chown", "-R", "nobody:nogroup", str(directory.parent)], check=True)

    def run(*arguments: str) -> str:
        done = subprocess.run([str(unprivileged), "run", *arguments, str(directory)],
                              capture_output=True, text=True, timeout=300, check=False)
        assert done.returncode == 0, f"{arguments}:\n{done.stdout}{done.stderr}"
        return done.stdout

    digest = hashlib.sha256((example / "node.cloud.yaml").read_bytes()).hexdigest()
    guests = directory / ".provisioner" / "qemu" / "qemu-lab" / "local"
    try:
        run("apply", "--auto-approve")
        for index in range(3):
            console = guests / f"node-{index}" / "serial.log"
            wait_serial(console, rf"^TINY: user-data sha256={digest}$")
            wait_serial(console, rf"^TINY: static eth0 10\.77\.0\.1{index}/24$")
            wait_serial(console, r"^TINY: dhcp eth1 10\.0\.2\.15$")
        owners = {path.stat().st_uid for path in guests.rglob("*")}
        assert owners == {pwd.getpwnam("nobody").pw_uid}, owners
        assert run("plan").strip().endswith("No changes. The hypervisors match the stack.")
    finally:
        run("destroy", "--auto-approve")
    assert not guests.exists()
    assert running("guest=qemu-lab.local.") == []
    shutil.rmtree(directory.parent)
