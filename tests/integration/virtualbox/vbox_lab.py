"""A stack directory on a VirtualBox host (the fake VBoxManage, or a real one), driven
through the CLI as a user drives it (``support.cli_lab``)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from support import cli_lab
from support.cli_lab import CliLab
from support.real_hosts import VboxTarget


def fake_block(program: Path, **extra: Any) -> dict[str, Any]:
    return {"type": "virtualbox", "vboxmanage": str(program), "shutdown_timeout": 2,
            "retry_timeout": 3, **extra}


def real_block(target: VboxTarget) -> dict[str, Any]:
    return cli_lab.real_block("virtualbox", "vboxmanage", target)


class Lab(CliLab):
    """One stack on the provider block ``block`` (as ``vb``)."""

    block_name = "vb"
