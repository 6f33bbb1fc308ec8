"""A stack on a VMware desktop host (the fake vmrun, or a real one), planned and applied
in-process as the CLI does (``support.stack_lab``), or through the CLI itself where a
test kills it (``cli``)."""

from __future__ import annotations

import os
import subprocess
import sys
from typing import Any

import yaml
from support.stack_lab import StackLab

from provisioner.plan.model import Plan
from provisioner.render.text import render_plan


def guests(**specs: dict[str, Any]) -> str:
    """A ``guests:`` section on the lab's block."""
    return yaml.safe_dump({"guests": {name: {"provider": "vm", **spec}
                                      for name, spec in specs.items()}}, sort_keys=False)


class Lab(StackLab):
    """One stack (``name``) on the provider block ``settings`` (as ``vm``)."""

    block_name = "vm"

    def __init__(self, root: Any, settings: dict[str, Any], name: str = "lab") -> None:
        super().__init__(root, name)
        self.settings = settings
        self.body = ""

    def block(self, **settings: Any) -> dict[str, Any]:
        return {**self.settings, **settings}

    def put(self, **specs: dict[str, Any]) -> None:
        """Declare these guests (and only these) from now on."""
        self.body = guests(**specs) if specs else ""

    def planned(self) -> tuple[Plan, str]:
        plan = self.plan(self.body)
        return plan, render_plan(plan)

    def applied(self) -> Plan:
        plan, result = self.apply(self.body, parallelism=2)
        assert result.ok, [(r.step.key, r.error) for r in result.results if r.error]
        return plan

    def clean(self) -> None:
        """A plan right now shows no change."""
        plan, text = self.planned()
        assert plan.summary.empty, text

    def cli(self, *args: str, kill_at: str | None = None,
            rewrite: bool = True) -> subprocess.CompletedProcess[str]:
        """``provisioner ARGS`` on the stack as ``put`` declared it (``rewrite``), or on the
        stack.yaml as it is, optionally killed at a point."""
        if rewrite:
            self.write(self.body)
        env = {k: v for k, v in os.environ.items() if k != "PROVISIONER_TEST_KILL_AT"}
        if kill_at:
            env["PROVISIONER_TEST_KILL_AT"] = kill_at
        return subprocess.run([sys.executable, "-m", "provisioner", *args, str(self.root)],
                              capture_output=True, text=True, timeout=120, check=False,
                              env=env, stdin=subprocess.DEVNULL, cwd=self.root)
