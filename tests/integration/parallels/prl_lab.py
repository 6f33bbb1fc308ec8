"""A stack directory on a Mac with Parallels Desktop (the fake prlctl, or a real one),
driven through the CLI as a user drives it."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import yaml
from support.real_hosts import ParallelsTarget


def fake_block(program: Path, **extra: Any) -> dict[str, Any]:
    return {"type": "parallels", "prlctl": str(program), "shutdown_timeout": 1,
            "retry_timeout": 1, **extra}


def real_block(target: ParallelsTarget) -> dict[str, Any]:
    block: dict[str, Any] = {"type": "parallels", "prlctl": target.prlctl}
    if target.host:
        block["host"] = target.host
    if target.basefolder:
        block["basefolder"] = target.basefolder
    return block


class Lab:
    """One stack (``name``) in ``directory`` on the provider block ``block`` (as ``pd``)."""

    def __init__(self, directory: Path, block: dict[str, Any], name: str = "lab") -> None:
        self.directory = directory
        self.block = block
        self.name = name
        directory.mkdir(parents=True, exist_ok=True)

    def write(self, guests: dict[str, Any]) -> None:
        for guest in guests.values():
            guest.setdefault("provider", "pd")
        document = {"apiVersion": "provisioner/v1", "stack": self.name,
                    "providers": {"pd": self.block}, "guests": guests}
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
