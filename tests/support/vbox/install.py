"""Installing the fake VBoxManage in a test's directory, and looking at what it holds."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from support.fake_state import FakeState
from support.vbox.fake import empty_state

TESTS = Path(__file__).resolve().parents[2]


class FakeVBox(FakeState):
    """One fake VirtualBox host: an executable ``VBoxManage`` and its state file."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        directory.mkdir(parents=True, exist_ok=True)
        self.program = directory / "VBoxManage"
        self.state_file = directory / "state.json"
        self.log_file = directory / "calls.jsonl"
        self.program.write_text(
            f"#!{sys.executable}\nimport sys\nsys.path.insert(0, {str(TESTS)!r})\n"
            "from support.vbox.fake import main\nmain()\n", encoding="utf-8")
        self.program.chmod(0o755)
        self.save(empty_state(str(directory / "VirtualBox VMs")))

    def calls(self) -> list[list[str]]:
        """Every command the fake was given, in order (without ``-q``)."""
        if not self.log_file.exists():
            return []
        return [[a for a in json.loads(line)["argv"] if a != "-q"]
                for line in self.log_file.read_text(encoding="utf-8").splitlines()]

    def vm(self, name: str) -> dict[str, Any]:
        found = [vm for vm in self.load()["vms"].values() if vm["name"] == name]
        assert len(found) == 1, f"{len(found)} VMs named {name}"
        return found[0]

    def add_vm(self, name: str, groups: tuple[str, ...] = ()) -> None:
        """A VM made behind the provider's back (by hand, in the GUI)."""
        from support.vbox.fake import run

        with self.edit() as state:
            code, _out, err = run(["createvm", f"--name={name}", "--register",
                                   *([f"--groups={','.join(groups)}"] if groups else [])],
                                  state)
            assert code == 0, err
