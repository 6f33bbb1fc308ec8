"""Installing the fake vmrun and vmware-vdiskmanager in a test's directory, and looking
at what they hold."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from support.fake_state import JsonState
from support.vmware_desktop.fake import empty_state, entries

HERE = Path(__file__).resolve().parent


class FakeVmware(JsonState):
    """One fake VMware host: the programs, their state file, and the basefolder."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        directory.mkdir(parents=True, exist_ok=True)
        self.basefolder = directory / "vms"
        self.basefolder.mkdir(exist_ok=True)
        self.vmrun = directory / "vmrun"
        self.vdiskmanager = directory / "vmware-vdiskmanager"
        self.state_file = directory / "state.json"
        self.log_file = directory / "calls.jsonl"
        script = (f"#!{sys.executable} -S\nimport sys\nsys.path.insert(0, {str(HERE)!r})\n"
                  "from fake import main\nmain()\n")
        for program in (self.vmrun, self.vdiskmanager):
            program.write_text(script, encoding="utf-8")
            program.chmod(0o755)
        self.save(empty_state())

    def block(self, **extra: Any) -> dict[str, Any]:
        """A provider block on this fake host."""
        return {"type": "vmware-desktop", "vmrun": str(self.vmrun),
                "disk_tool": str(self.vdiskmanager), "basefolder": str(self.basefolder),
                "shutdown_timeout": 2, **extra}

    def calls(self, program: str = "vmrun") -> list[list[str]]:
        """Every command ``program`` was given, in order (``-T PRODUCT`` left out)."""
        if not self.log_file.exists():
            return []
        found = []
        for line in self.log_file.read_text(encoding="utf-8").splitlines():
            call = json.loads(line)
            if call["program"] == program:
                argv = call["argv"]
                found.append(argv[2:] if argv[:1] == ["-T"] else argv)
        return found

    def vmx_path(self, name: str) -> Path:
        return self.basefolder / name / f"{name}.vmx"

    def vmx(self, name: str) -> dict[str, str]:
        """A VM's .vmx entries as the fake reads them (keys lower-cased)."""
        found: dict[str, str] = entries(self.vmx_path(name).read_text(encoding="utf-8"))
        return found

    def names(self) -> list[str]:
        return sorted(p.parent.name for p in self.basefolder.glob("*/*.vmx"))

    def running(self, name: str) -> bool:
        return str(self.vmx_path(name)) in self.load()["running"]

    def add_vm(self, name: str, extra: str = "") -> Path:
        """A VM made behind the provider's back (in the VMware GUI)."""
        path = self.vmx_path(name)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(f'.encoding = "UTF-8"\nconfig.version = "8"\nvirtualHW.version = "21"\n'
                        f'displayName = "{name}"\nnumvcpus = "1"\nmemsize = "512"\n'
                        f'guestOS = "other"\n{extra}', encoding="utf-8")
        return path
