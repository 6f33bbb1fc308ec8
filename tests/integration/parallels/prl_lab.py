"""A stack directory on a Mac with Parallels Desktop (the fake prlctl, or a real one),
driven through the CLI as a user drives it (``support.cli_lab``)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from support import cli_lab
from support.cli_lab import CliLab
from support.real_hosts import ParallelsTarget


def fake_block(program: Path, **extra: Any) -> dict[str, Any]:
    return {"type": "parallels", "prlctl": str(program), "shutdown_timeout": 1,
            "retry_timeout": 1, **extra}


def real_block(target: ParallelsTarget) -> dict[str, Any]:
    return cli_lab.real_block("parallels", "prlctl", target)


class Lab(CliLab):
    """One stack on the provider block ``block`` (as ``pd``)."""

    block_name = "pd"
