"""Installing the fake prlctl and prlsrvctl in a test's directory, and looking at what
they hold."""

from __future__ import annotations

import json
import sys
from pathlib import Path

from support.fake_state import JsonState
from support.parallels.fake import empty_state

TESTS = Path(__file__).resolve().parents[2]


class FakeParallels(JsonState):
    """One fake Mac with Parallels Desktop: executables ``prlctl`` and ``prlsrvctl``
    and their state file."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        directory.mkdir(parents=True, exist_ok=True)
        self.program = directory / "prlctl"
        self.state_file = directory / "state.json"
        self.log_file = directory / "calls.jsonl"
        for name in ("prlctl", "prlsrvctl"):
            program = directory / name
            # -S: no site import (the fake needs the standard library only)
            program.write_text(
                f"#!{sys.executable} -S\nimport sys\nsys.path.insert(0, {str(TESTS)!r})\n"
                "from support.parallels.fake import main\nmain()\n", encoding="utf-8")
            program.chmod(0o755)
        self.save(empty_state(str(directory / "Parallels")))

    def calls(self) -> list[list[str]]:
        """Every command the fakes were given, in order, ``prlctl`` left out
        (``prlsrvctl`` calls start with ``prlsrvctl``)."""
        if not self.log_file.exists():
            return []
        found = []
        for line in self.log_file.read_text(encoding="utf-8").splitlines():
            argv = json.loads(line)["argv"]
            found.append(argv[1:] if argv[0] == "prlctl" else argv)
        return found

    def add_vm(self, name: str, folder: str | None = None) -> None:
        """A VM made behind the provider's back (by hand, in Parallels' Control Center)."""
        from support.parallels.fake import run

        with self.edit() as state:
            code, _out, err, _ = run("prlctl", ["create", name, "--distribution", "linux",
                                                *(["--dst", folder] if folder else [])],
                                     state)
            assert code == 0, err
