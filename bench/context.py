"""What every benchmark gets: mode, work directory, log."""

from __future__ import annotations

import shutil
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


@dataclass
class Context:
    quick: bool
    work: Path
    started: float = field(default_factory=time.monotonic)
    failures: list[str] = field(default_factory=list)
    """Parts that could not run: the run still ends, and exits 1 (CI sees it)."""

    def log(self, message: str) -> None:
        elapsed = time.monotonic() - self.started
        print(f"[{elapsed:7.1f}s] {message}", file=sys.stderr, flush=True)

    def dir(self, name: str) -> Path:
        path = self.work / name
        path.mkdir(parents=True, exist_ok=True)
        return path


def provisioner_command() -> list[str]:
    """How a user runs provisioner here: the console script installed beside this
    interpreter (not a version manager's shim found first on PATH, which runs a shell
    script before Python: about 50 ms with pyenv)."""
    beside = Path(sys.executable).parent / "provisioner"
    found = str(beside) if beside.is_file() else shutil.which("provisioner")
    return [found] if found else [sys.executable, "-m", "provisioner"]
