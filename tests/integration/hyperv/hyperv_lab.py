"""A stack on a Hyper-V host (the fake PowerShell, or a real host), planned and applied
in-process (``StackLab``), or through the CLI where a test kills it."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from support.real_hosts import HYPERV, HyperVTarget
from support.stack_lab import StackLab

SWITCH = "Default Switch"
"""The switch the tests' NICs use (the fake has it; a real host names its own)."""


class Lab(StackLab):
    """One stack on the fake (``program``) or on ``target``."""

    block_name = "hv"

    def __init__(self, root: Path, name: str, program: Path | None = None,
                 target: HyperVTarget | None = None) -> None:
        super().__init__(root, name)
        self.program = program
        self.target = target

    def block(self, **settings: Any) -> dict[str, Any]:
        if self.target is None:
            return {"type": "hyperv", "powershell": str(self.program), "shutdown_timeout": 2,
                    **settings}
        block: dict[str, Any] = {"type": "hyperv", "powershell": self.target.powershell}
        if self.target.host:
            block.update(host=self.target.host, username=self.target.user,
                         password_env=f"{HYPERV}_PASSWORD", auth=self.target.auth)
            if self.target.ca_file:
                block["ca_file"] = self.target.ca_file
        if self.target.path:
            block["path"] = self.target.path
        return {**block, **settings}

    def localize(self, body: str) -> str:
        return body if self.target is None else body.replace(SWITCH, self.target.switch)

    def cli(self, *args: str, kill_at: str | None = None) -> subprocess.CompletedProcess[str]:
        """``provisioner ARGS`` on the stack last written (``write``), as a user runs it."""
        env = {k: v for k, v in os.environ.items() if k != "PROVISIONER_TEST_KILL_AT"}
        if kill_at:
            env["PROVISIONER_TEST_KILL_AT"] = kill_at
        return subprocess.run([sys.executable, "-m", "provisioner", *args, str(self.root)],
                              capture_output=True, text=True, timeout=120, check=False,
                              env=env, stdin=subprocess.DEVNULL, cwd=self.root)
