"""A stack directory planned and applied in-process, as the CLI would: the shared part
of the integration tests' labs (``vsphere_lab.Lab``, ``xapi_lab.Lab``).

A lab writes ``stack.yaml`` (a provider block from ``block(**settings)``, then the
resource sections given) and keeps its own SQLite state; ``plan``, ``apply`` and
``destroy`` run the engine on it. Subclasses say which block, and may rewrite the
body (``localize``: the simulator's names into a real target's).
"""

from __future__ import annotations

import textwrap
from pathlib import Path
from typing import Any

import yaml

from provisioner.apply.executor import ApplyResult
from provisioner.apply.progress import CollectingProgress as Recorder
from provisioner.engine import Engine
from provisioner.plan.model import Plan
from provisioner.plan.planner import PlanOptions
from provisioner.stack.loader import Stack, load_stack
from provisioner.state.local import SQLiteStore


class StackLab:
    """One stack with its own state; ``block_name`` and ``block`` say where it goes."""

    block_name = "hv"

    def __init__(self, root: Path, name: str) -> None:
        self.root = root
        self.name = name
        self.root.mkdir(parents=True, exist_ok=True)

    def block(self, **settings: Any) -> dict[str, Any]:
        raise NotImplementedError

    def localize(self, body: str) -> str:
        """The body as written to this lab's target (default: as it is)."""
        return body

    def write(self, body: str, **settings: Any) -> Stack:
        document = {"apiVersion": "provisioner/v1", "stack": self.name,
                    "providers": {self.block_name: self.block(**settings)}}
        text = yaml.safe_dump(document, sort_keys=False) + \
            self.localize(textwrap.dedent(body))
        (self.root / "stack.yaml").write_text(text, encoding="utf-8")
        return load_stack(self.root / "stack.yaml")

    def engine(self, body: str, **settings: Any) -> Engine:
        """An engine on the lab's state file (closing it closes the store and logs out)."""
        return Engine(self.write(body, **settings), SQLiteStore(self.root / "state.db"))

    def plan(self, body: str, options: PlanOptions | None = None, **settings: Any) -> Plan:
        with self.engine(body, **settings) as engine:
            return engine.plan(options)

    def apply(self, body: str, parallelism: int = 8, options: PlanOptions | None = None,
              **settings: Any) -> tuple[Plan, ApplyResult]:
        with self.engine(body, **settings) as engine:
            plan = engine.plan(options)
            result = engine.apply(plan, Recorder(), parallelism)
        return plan, result

    def destroy(self, body: str, **settings: Any) -> ApplyResult:
        _, result = self.apply(body, options=PlanOptions(destroy=True), **settings)
        return result
