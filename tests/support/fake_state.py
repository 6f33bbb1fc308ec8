"""The JSON state file of a fake command-line hypervisor (the fake VBoxManage,
PowerShell, prlctl): read it, write it, change it in a ``with`` block, as a test does
behind the provider's back. The fake program itself locks it while one command runs."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any


class JsonState:
    """A fake host's state, kept in ``state_file``."""

    state_file: Path

    def load(self) -> dict[str, Any]:
        state: dict[str, Any] = json.loads(self.state_file.read_text(encoding="utf-8"))
        return state

    def save(self, state: dict[str, Any]) -> None:
        self.state_file.write_text(json.dumps(state, indent=1), encoding="utf-8")

    @contextmanager
    def edit(self) -> Iterator[dict[str, Any]]:
        state = self.load()
        yield state
        self.save(state)

    def vm(self, name: str) -> dict[str, Any]:
        """The one VM named ``name`` (the fakes keep VMs by id under ``vms``)."""
        found = [vm for vm in self.load()["vms"].values() if vm["name"] == name]
        assert len(found) == 1, f"{len(found)} VMs named {name}"
        return found[0]
