"""Benchmark 3: start-up of the console script, and what it imports."""

from __future__ import annotations

import re
import sys
from collections import defaultdict

from bench import drive, stacks
from bench.context import ROOT, Context, provisioner_command
from bench.libvirt_sim import SimDaemon
from bench.measure import median, run
from bench.report import Goal, Section, Table, fmt_mb
from bench.wheel_venv import installed_script
from provisioner.code_cache import SWITCH as CODE_CACHE_SWITCH
from provisioner.quick.session import SWITCH as QUICK_SWITCH

GOAL_SECONDS = 0.2
SMALL_PLAN_GUESTS = 3
_LINE = re.compile(r"^import time:\s+(\d+) \|\s+(\d+) \|( +)(\S+)$")


def import_totals(python: str, args: list[str], env: dict[str, str] | None = None
                  ) -> tuple[float, dict[str, float]]:
    """Total import time (s) of a command, and the cumulative time of each top-level
    package it imported directly (``python -X importtime``)."""
    result = run([python, "-X", "importtime", "-m", "provisioner", *args], cwd=ROOT, env=env)
    total = 0
    packages: dict[str, float] = defaultdict(float)
    for line in result.stderr.splitlines():
        match = _LINE.match(line)
        if not match:
            continue
        own, cumulative, indent, name = match.groups()
        total += int(own)
        if len(indent) == 1:  # imported by the command itself, not by another module
            packages[name.split(".")[0]] += int(cumulative) / 1e6
    return total / 1e6, dict(packages)


def run_benchmark(ctx: Context) -> Section:
    section = Section("startup", "3. Start-up", METHOD)
    with SimDaemon() as sim:
        small = ctx.dir("startup-plan")
        stacks.write(small, stacks.libvirt_scale(sim.uri, SMALL_PLAN_GUESTS))
        drive.must_apply(small / "stack.yaml")
        installed = installed_script(ctx)
        cli = [str(installed)] if installed else provisioner_command()
        python = str(installed.parent / "python") if installed else sys.executable
        section.notes.append(
            "Measured: " + ("the console script of a new venv holding this checkout's wheel "
                            "(bench/wheel_venv.py: what `pip install` gives a user)"
                            if installed else "the development install's console script "
                            "(a venv with the wheel could not be made here)") + ".")
        commands = {"python -c pass (the interpreter alone)": [python, "-c", "pass"],
                    "provisioner --help": [*cli, "--help"],
                    "provisioner validate stacks/demo": [*cli, "validate", "stacks/demo"],
                    VALIDATE_FULL_LABEL: [*cli, "validate", "stacks/demo"],
                    VALIDATE_FIRST_LABEL: [*cli, "validate", "stacks/demo"],
                    PLAN_LABEL: [*cli, "plan", str(small), "--no-color"],
                    PLAN_FULL_LABEL: [*cli, "plan", str(small), "--no-color"],
                    PLAN_FIRST_LABEL: [*cli, "plan", str(small), "--no-color"]}
        return _measure(ctx, section, commands, python, 5 if ctx.quick else 15)


PLAN_LABEL = (f"provisioner plan, {SMALL_PLAN_GUESTS} guests applied, no changes "
              "(libvirt test driver behind a private libvirtd)")
PLAN_FULL_LABEL = f"the same plan with the quick check off ({QUICK_SWITCH}=0)"
VALIDATE_FULL_LABEL = f"the same validate with the quick check off ({QUICK_SWITCH}=0)"
FIRST = (f"with the quick check and the kept dataclass code off ({QUICK_SWITCH}=0 "
         f"{CODE_CACHE_SWITCH}=0: a first run after an install)")
PLAN_FIRST_LABEL = f"the same plan {FIRST}"
VALIDATE_FIRST_LABEL = f"the same validate {FIRST}"
FIRST_RUN = {QUICK_SWITCH: "0", CODE_CACHE_SWITCH: "0"}
ENVIRONMENTS = {PLAN_FULL_LABEL: {QUICK_SWITCH: "0"}, VALIDATE_FULL_LABEL: {QUICK_SWITCH: "0"},
                PLAN_FIRST_LABEL: FIRST_RUN, VALIDATE_FIRST_LABEL: FIRST_RUN}
"""The environment a command runs in, beside the machine's."""


def _measure(ctx: Context, section: Section, commands: dict[str, list[str]], python: str,
             repeats: int) -> Section:
    table = Table("Start-up (wall time of the whole process)",
                  ["command", "median", "min", "peak RSS", "imports (-X importtime)"])
    section.tables.append(table)
    medians = {}
    imports: dict[str, dict[str, float]] = {}
    for label, command in commands.items():
        ctx.log(f"start-up: {label}")
        env = ENVIRONMENTS.get(label)
        run(command, cwd=ROOT, env=env)  # warm the page cache
        runs = [run(command, cwd=ROOT, env=env) for _ in range(repeats)]
        if not all(r.ok for r in runs):
            raise RuntimeError(f"{label} failed:\n{runs[0].tail()}")
        medians[label] = median([r.seconds for r in runs])
        total = "-"
        if command[0] != python:  # a provisioner command
            seconds, packages = import_totals(python, command[1:], env)
            imports[label] = packages
            total = f"{seconds * 1000:.0f} ms"
        table.add(label, f"{medians[label] * 1000:.0f} ms",
                  f"{min(r.seconds for r in runs) * 1000:.0f} ms",
                  fmt_mb(max(r.peak_rss_mb for r in runs)), total)
    for label, packages in imports.items():
        top = Table(f"What `{label}` imports: top-level packages by cumulative import time",
                    ["package", "cumulative"])
        for name, seconds in sorted(packages.items(), key=lambda kv: -kv[1])[:10]:
            top.add(name, f"{seconds * 1000:.1f} ms")
        section.tables.append(top)
    for label in ("provisioner --help", "provisioner validate stacks/demo",
                  VALIDATE_FULL_LABEL, PLAN_LABEL, PLAN_FULL_LABEL):
        section.goals.append(Goal(f"start-up: `{label}`", f"< {GOAL_SECONDS * 1000:.0f} ms",
                                  f"{medians[label] * 1000:.0f} ms",
                                  medians[label] < GOAL_SECONDS))
    return section


METHOD = """
Each command runs as a new process, as a user types it: the `provisioner` console
script of a new venv holding this checkout's wheel (byte-compiled, with the same
versions of every dependency as the development install: bench/wheel_venv.py), so
that neither the development install's `.pth` files nor a version manager's shim
count; `python -c pass` is that venv's interpreter. After one warm-up run, the median
and minimum of the runs. The small plan reads 3 guests that provisioner applied on
libvirt's test driver behind a private libvirtd (as in benchmark 1): start-up, the
stack, the state and one bulk read, with no hypervisor work worth the name (the
side-by-side re-run of benchmark 4 is the same on real guests). From their third run
on, `validate` and the plan are answered by the quick no-change check
(docs/quick-check.md: it compares the files, the state and the variables the last
run read, and for the plan it reads the host again), so their medians are answered
runs; each has a row beside it with the check off, running in full each time, and
one with the kept code of dataclasses off too (docs/start-up.md): that is the time of
the first run after an install, which compiles what later runs read from
`~/.cache/provisioner`. The goals are read on the answered runs and on the runs in
full; the first-run rows are shown beside them, not as goals.
The import totals
come from one `python -X importtime -m provisioner ...` run in the same venv: the sum
of every module's own import time, and per top-level package imported by the CLI's
modules the cumulative time.
"""
