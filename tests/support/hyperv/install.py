"""Installing the fake PowerShell (``pwsh.py``) in a test's directory, and looking at what
it holds: its state, the scripts it was given, each statement's cmdlets."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from support.fake_state import JsonState
from support.hyperv.pwsh import empty_state, run
from support.hyperv.syntax import parse

TESTS = Path(__file__).resolve().parents[2]


class FakeHyperV(JsonState):
    """One fake Hyper-V host: an executable ``pwsh``, its state file, its VM folder."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        directory.mkdir(parents=True, exist_ok=True)
        self.program = directory / "pwsh"
        self.state_file = directory / "state.json"
        self.log_file = directory / "calls.jsonl"
        self.root = directory / "Hyper-V"
        self.program.write_text(
            f"#!{sys.executable} -S\nimport sys\nsys.path.insert(0, {str(TESTS)!r})\n"
            "from support.hyperv.pwsh import main\nmain()\n", encoding="utf-8")
        self.program.chmod(0o755)
        self.save(empty_state(str(self.root)))

    def scripts(self) -> list[str]:
        if not self.log_file.exists():
            return []
        return [json.loads(line)["script"]
                for line in self.log_file.read_text(encoding="utf-8").splitlines()]

    def cmdlets(self, start: int = 0) -> list[str]:
        """The cmdlet each statement ended in, script after script from ``start``
        (a read counts as ``read:WHAT``)."""
        found: list[str] = []
        for script in self.scripts()[start:]:
            parsed = parse(script)
            if parsed.read is not None:
                found.append(f"read:{parsed.read.split(' ')[0]}")
            found += [s.stages[-1].cmdlet for s in parsed.statements if s.stages]
        return found

    def vm(self, name: str) -> dict[str, Any]:
        found = [vm for vm in self.load()["vms"].values() if vm["Name"] == name]
        assert len(found) == 1, f"{len(found)} VMs named {name}"
        vm: dict[str, Any] = found[0]
        return vm

    def add_vm(self, name: str, notes: str = "") -> str:
        """A VM made behind the provider's back (in Hyper-V Manager); its id."""
        with self.edit() as state:
            code, out, err = run(f"$ErrorActionPreference = 'Stop'\n$ProgressPreference = "
                                 f"'SilentlyContinue'\n$vm = New-VM -Name '{name}' -Generation "
                                 f"2 -MemoryStartupBytes 536870912 -NoVHD\n$vm.Id.ToString()\n",
                                 state)
            assert code == 0, err
            vm_id = out.strip()
            state["vms"][vm_id]["Notes"] = notes
        return vm_id
