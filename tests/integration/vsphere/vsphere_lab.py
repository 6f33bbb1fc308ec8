"""Stacks on a simulator, planned and applied in-process through the engine.

``Lab`` is one stack directory with its own SQLite state: ``write`` puts the
provider block ``vc`` (reaching the simulator) in front of the resource
sections given, ``plan`` and ``apply`` run the engine as the CLI does.

On a real target (support/vsphere_real.py) the stack is named for the run, the
simulator's names in each stack written are the target's (a stack naming a
second datastore or port group the variables do not give skips), and
``clean_up`` destroys the stack after the test.
"""

from __future__ import annotations

import contextlib
import re
from pathlib import Path
from typing import Any

import pytest
from support.plans import actions, failures, field_changes  # noqa: F401  (re-exported)
from support.stack_lab import StackLab
from support.vcsim import Simulator

from provisioner.apply.progress import CollectingProgress as Recorder
from provisioner.engine import Engine
from provisioner.plan.planner import PlanOptions
from provisioner.stack.loader import load_stack
from provisioner.state.local import SQLiteStore


class Lab(StackLab):
    """One stack on one simulator."""

    block_name = "vc"

    def __init__(self, root: Path, simulator: Simulator, name: str = "lab") -> None:
        super().__init__(root, simulator.stack(name))
        self.simulator = simulator

    def block(self, **settings: Any) -> dict[str, Any]:
        return self.simulator.provider_block(**settings)

    def localize(self, body: str) -> str:
        for name, real in self.simulator.names.items():
            if not re.search(rf"(?<![\w.-]){re.escape(name)}(?![\w.-])", body):
                continue
            if not real:
                pytest.skip(f"the stack uses a second datastore or port group ({name}): set "
                            "PROVISIONER_TEST_VSPHERE_DATASTORE2 / _NETWORK2")
            body = re.sub(rf"(?<![\w.-]){re.escape(name)}(?![\w.-])", real, body)
        return body

    def clean_up(self) -> None:
        """Destroy the stack last written (what is left is the leak check's verdict)."""
        if (self.root / "stack.yaml").is_file():
            with contextlib.suppress(Exception), \
                    Engine(load_stack(self.root / "stack.yaml"),
                           SQLiteStore(self.root / "state.db")) as engine:
                engine.apply(engine.plan(PlanOptions(destroy=True)), Recorder(), 8)


def boot_time(simulator: Simulator, name: str) -> Any:
    """When the VM was last powered on (None while off): a restart changes it. (The
    simulator's ESXi model has no event manager to ask.)"""
    return simulator.vm(name).summary.runtime.bootTime
