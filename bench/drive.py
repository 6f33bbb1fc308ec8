"""Driving provisioner in-process through its engine, as its integration tests do:
for setting up and tearing down what the measured commands work on, and for
applies whose every step duration is needed."""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

from provisioner.apply.executor import ApplyResult
from provisioner.apply.progress import CollectingProgress as Recorder
from provisioner.engine import Engine
from provisioner.plan.model import Plan
from provisioner.plan.planner import PlanOptions
from provisioner.stack.loader import load_stack


@dataclass(frozen=True)
class Applied:
    plan: Plan
    result: ApplyResult
    seconds: float
    """Wall time of Engine.apply (the plan before it is not counted)."""

    def failures(self) -> list[str]:
        return [f"{r.step.key}: {r.message}" for r in self.result.results
                if r.outcome.value != "done"]


def engine(stack_file: Path) -> Engine:
    """An engine on the stack's default state store (the one the CLI uses)."""
    return Engine(load_stack(stack_file))


def apply(stack_file: Path, parallelism: int = 8, destroy: bool = False) -> Applied:
    with engine(stack_file) as eng:
        plan = eng.plan(PlanOptions(destroy=destroy), locked=True)
        start = time.perf_counter()
        result = eng.apply(plan, Recorder(), parallelism)
        return Applied(plan, result, time.perf_counter() - start)


def must_apply(stack_file: Path, parallelism: int = 8, destroy: bool = False) -> Applied:
    applied = apply(stack_file, parallelism, destroy)
    if not applied.result.ok:
        raise RuntimeError(f"apply of {stack_file} failed:\n" +
                           "\n".join(applied.failures()[:10]))
    return applied


def record_unrecorded(stack_file: Path) -> Plan:
    """Plan; record every object that matches the stack but has no record (what an
    apply killed after its creates leaves: the engine's own recovery path)."""
    with engine(stack_file) as eng:
        plan = eng.plan()
        eng.refresh_attributes(plan)
        return plan
