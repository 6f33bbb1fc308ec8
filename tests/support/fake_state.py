"""The JSON state file of a fake command-line hypervisor (the fake VBoxManage, the fake
vmrun), as the tests look into it: read, written, edited in place."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any


class FakeState:
    """``state_file``: the fake's JSON state."""

    state_file: Path

    def load(self) -> dict[str, Any]:
        state: dict[str, Any] = json.loads(self.state_file.read_text(encoding="utf-8"))
        return state

    def save(self, state: dict[str, Any]) -> None:
        self.state_file.write_text(json.dumps(state, indent=1), encoding="utf-8")

    @contextmanager
    def edit(self) -> Iterator[dict[str, Any]]:
        """The state, written back when the block ends (a fault injected, a VM changed)."""
        state = self.load()
        yield state
        self.save(state)
