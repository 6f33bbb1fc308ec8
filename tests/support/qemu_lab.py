"""A stack directory with a qemu provider block, driven through the CLI: what the qemu
end-to-end tests share. Everything it checks is really there: QEMU processes (by pid
and command line), their console, the provider's files."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
from collections.abc import Iterator
from pathlib import Path

from support.e2e import PROVISIONER, TinyGuest, boot_options

GUEST = """apiVersion: provisioner/v1
stack: {stack}
providers:
  local: {{ type: qemu, dir: .provisioner/qemu, accel: tcg, stop_timeout: 30 }}
guests:
  tiny:
    provider: local
    count: {count}
    memory: {memory}
    disks: [ {{ size: {size} }} ]
    cloud_init: {{ user_data: "#cloud-config\\n" }}
    options: {{ {boot} }}
"""

class QemuLab:
    """A stack directory with a qemu provider block, driven through the CLI."""

    def __init__(self, directory: Path, tiny: TinyGuest | None, stack: str) -> None:
        self.directory = directory
        self.tiny = tiny
        self.stack = stack
        self.guests = directory / ".provisioner" / "qemu" / stack / "local"

    def write(self, count: int = 1, memory: str = "192MiB", size: str = "64MiB") -> None:
        text = GUEST.format(stack=self.stack, count=count, memory=memory, size=size,
                            boot=boot_options(self.tiny) if self.tiny else "")
        (self.directory / "stack.yaml").write_text(text, encoding="utf-8")

    def cli(self, *arguments: str, kill_at: str | None = None,
            check: bool = True) -> subprocess.CompletedProcess[str]:
        env = {k: v for k, v in os.environ.items() if k != "PROVISIONER_TEST_KILL_AT"}
        if kill_at:
            env["PROVISIONER_TEST_KILL_AT"] = kill_at
        done = subprocess.run([PROVISIONER, *arguments, str(self.directory)],
                              capture_output=True, text=True, timeout=300, env=env,
                              stdin=subprocess.DEVNULL, check=False)
        if check:
            assert done.returncode == 0, f"{arguments}:\n{done.stdout}{done.stderr}"
        return done

    def apply(self, **kwargs: object) -> subprocess.CompletedProcess[str]:
        return self.cli("apply", "--auto-approve", **kwargs)  # type: ignore[arg-type]

    def plan_json(self) -> dict[str, object]:
        document: dict[str, object] = json.loads(self.cli("plan", "--json").stdout)
        return document

    def changes(self) -> dict[str, str]:
        return {str(change["address"]): str(change["action"])
                for change in self.plan_json()["changes"]  # type: ignore[attr-defined]
                if change["action"] != "no-op"}

    def pid(self, name: str) -> int | None:
        try:
            pid = int((self.guests / name / "qemu.pid").read_text().strip())
            argv = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
        except (OSError, ValueError):
            return None
        return pid if f"guest={self.stack}.local.{name}".encode() in argv else None

    def console(self, name: str) -> Path:
        return self.guests / name / "serial.log"

    def processes(self) -> list[int]:
        """Every QEMU of this stack still running, found by its command line."""
        return running(f"guest={self.stack}.local.")

    def kill_all(self) -> None:
        for pid in self.processes():
            os.kill(pid, signal.SIGKILL)


def running(needle: str) -> list[int]:
    """Live processes whose command line holds ``needle``."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if needle.encode() in (entry / "cmdline").read_bytes():
                    found.append(int(entry.name))
            except OSError:
                continue
    return found


def free_port() -> int:
    """A TCP port nobody listens on here now (for a guest's forwarded port 22)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def lab_for(directory: Path, tiny: TinyGuest | None, stack: str) -> Iterator[QemuLab]:
    """A lab for one test (a fixture's body): no QEMU of its stack may outlive it."""
    made = QemuLab(directory, tiny, stack)
    yield made
    leftover = made.processes()
    made.kill_all()
    assert leftover == [], f"QEMU processes left running: {leftover}"
