"""A stack directory driven through the CLI as a user drives it (``python -m provisioner``
in a child process, so that a test can kill it at a named point): the shared part of the
command-driven providers' labs (``vbox_lab.Lab``, ``prl_lab.Lab``), and the stand-in
``ssh`` their over-ssh tests put first on the PATH."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import yaml


class CliLab:
    """One stack (``name``) in ``directory`` on the provider block ``block``, named
    ``block_name`` in the stack."""

    block_name = "hv"

    def __init__(self, directory: Path, block: dict[str, Any], name: str = "lab") -> None:
        self.directory = directory
        self.block = block
        self.name = name
        directory.mkdir(parents=True, exist_ok=True)

    def write(self, guests: dict[str, Any]) -> None:
        for guest in guests.values():
            guest.setdefault("provider", self.block_name)
        document = {"apiVersion": "provisioner/v1", "stack": self.name,
                    "providers": {self.block_name: self.block}, "guests": guests}
        (self.directory / "stack.yaml").write_text(yaml.safe_dump(document, sort_keys=False),
                                                   encoding="utf-8")

    def cli(self, *args: str, kill_at: str | None = None,
            timeout: float = 300) -> subprocess.CompletedProcess[str]:
        env = {k: v for k, v in os.environ.items() if k != "PROVISIONER_TEST_KILL_AT"}
        if kill_at:
            env["PROVISIONER_TEST_KILL_AT"] = kill_at
        return subprocess.run([sys.executable, "-m", "provisioner", *args], capture_output=True,
                              text=True, timeout=timeout, check=False, env=env,
                              stdin=subprocess.DEVNULL, cwd=self.directory)

    def apply(self, kill_at: str | None = None) -> subprocess.CompletedProcess[str]:
        return self.cli("apply", str(self.directory), "--auto-approve", "--parallelism", "1",
                        kill_at=kill_at)

    def applied(self) -> str:
        result = self.apply()
        assert result.returncode == 0, result.stdout + result.stderr
        return result.stdout

    def plan(self) -> subprocess.CompletedProcess[str]:
        return self.cli("plan", str(self.directory), "--detailed-exitcode")

    def clean(self) -> None:
        """A plan right now shows no change."""
        result = self.plan()
        assert result.returncode == 0, result.stdout + result.stderr

    def destroy(self) -> None:
        result = self.cli("destroy", str(self.directory), "--auto-approve")
        assert result.returncode == 0, result.stdout + result.stderr


def real_block(block_type: str, program_key: str, target: Any) -> dict[str, Any]:
    """The provider block of a desktop hypervisor's real target (``real_hosts``): its
    program under ``program_key``, and its ``host`` and ``basefolder`` when set."""
    block: dict[str, Any] = {"type": block_type, program_key: getattr(target, program_key)}
    for key in ("host", "basefolder"):
        if getattr(target, key):
            block[key] = getattr(target, key)
    return block


def stand_in_ssh(directory: Path) -> Path:
    """An ``ssh`` in ``directory`` that records each connection's arguments (one JSON
    line each, in the file returned) and runs the remote command line with ``sh -c``
    here, as sshd runs it with the user's shell."""
    directory.mkdir()
    log = directory / "connections.jsonl"
    program = directory / "ssh"
    program.write_text(
        f"#!{sys.executable} -S\nimport json, subprocess, sys\nargs = sys.argv[1:]\n"
        "at = args.index('--')\n"
        f"with open({str(log)!r}, 'a') as f: f.write(json.dumps(args) + '\\n')\n"
        "sys.exit(subprocess.call(['sh', '-c', args[at + 1]]))\n", encoding="utf-8")
    program.chmod(0o755)
    return log
