"""Benchmark 2: apply parallelism against its lower bound.

For each run, the bound is max(critical path, total work / parallelism), where
each step's work is its own duration in that run (the provider calls and the
journal writes of the step, as the executor times them) and the critical path is
the longest chain of steps through the plan's dependency edges. wall / bound = 1
means the executor kept ``parallelism`` steps running whenever the graph allowed.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable

from bench import drive, stacks
from bench.context import Context
from bench.pve import TOKEN_ENV, PveServer
from bench.report import Goal, Section, Table, fmt_s
from bench.stacks import Shape
from bench.testbed import Testbed

PARALLELISM = (1, 4, 8, 16)
TIME_SCALE = 0.02
"""Real seconds per PVE second: a clone of 8 PVE seconds takes 0.16 s."""
GOAL = 1.25


def bound(applied: drive.Applied, parallelism: int) -> tuple[float, float, float]:
    """(lower bound, critical path, total work) of one apply, from its step times."""
    seconds = {r.step.key: r.seconds for r in applied.result.results}
    before: dict[str, list[str]] = defaultdict(list)
    for first, then in applied.plan.edges:
        before[then].append(first)
    finish: dict[str, float] = {}
    for step in applied.plan.steps:  # in dependency order
        finish[step.key] = seconds.get(step.key, 0.0) + max(
            (finish[b] for b in before[step.key]), default=0.0)
    critical = max(finish.values(), default=0.0)
    work = sum(seconds.values())
    return max(critical, work / parallelism), critical, work


def _row(table: Table, ratios: list[float], shape: Shape, parallelism: int,
         applied: drive.Applied) -> None:
    limit, critical, work = bound(applied, parallelism)
    ratio = applied.seconds / limit if limit else float("nan")
    ratios.append(ratio)
    table.add(shape.name, parallelism, len(applied.plan.steps), fmt_s(applied.seconds),
              fmt_s(critical), fmt_s(work), fmt_s(limit), f"{ratio:.2f}")


COLUMNS = ["graph", "parallelism", "steps", "wall", "critical path", "total work",
           "bound", "wall / bound"]


def _fakepve(ctx: Context, shapes: list[Shape], levels: tuple[int, ...],
             ratios: list[float]) -> Table:
    table = Table(f"Proxmox (fakepve, time scale {TIME_SCALE})", COLUMNS)
    for shape in shapes:
        for parallelism in levels:
            ctx.log(f"apply, fakepve: {shape.name}, parallelism {parallelism}")
            with PveServer(TIME_SCALE) as pve:  # a fresh cluster per run: no teardown
                block = stacks.proxmox_block(pve.endpoint, pve.token_id, TOKEN_ENV,
                                             pve.ca_file, parallel=16)
                directory = ctx.dir(f"apply-pve-{shape.guests}-{shape.depth}-{parallelism}")
                path = stacks.write(directory, stacks.proxmox_apply(block, shape))
                applied = drive.must_apply(path, parallelism)
            _row(table, ratios, shape, parallelism, applied)
    return table


def _libvirt(ctx: Context, shapes: list[Shape], levels: tuple[int, ...],
             ratios: list[float]) -> Table:
    table = Table("libvirt (the real daemon, QEMU with TCG)", COLUMNS)
    with Testbed() as testbed:
        for shape in shapes:
            directory = ctx.dir(f"apply-libvirt-{shape.guests}-{shape.depth}")
            path = stacks.write(directory, stacks.libvirt_apply(testbed.uri, shape, 16))
            drive.must_apply(path, 16, destroy=True)  # leftovers of an interrupted run
            for parallelism in levels:
                ctx.log(f"apply, libvirt: {shape.name}, parallelism {parallelism}")
                try:
                    applied = drive.must_apply(path, parallelism)
                finally:
                    drive.apply(path, 16, destroy=True)
                _row(table, ratios, shape, parallelism, applied)
    return table


def _guarded(ctx: Context, section: Section, label: str,
             body: Callable[[], Table]) -> None:
    try:
        section.tables.append(body())
    except Exception as exc:  # recorded: the other half of the benchmark still runs
        ctx.log(f"apply, {label}: could not run: {exc}")
        ctx.failures.append(f"apply, {label}")
        section.notes.append(f"**{label} could not run**: `{type(exc).__name__}: {exc}`")


def run_benchmark(ctx: Context) -> Section:
    section = Section("apply", "2. Apply parallelism", METHOD)
    if ctx.quick:
        shapes = [Shape("10 independent guests", 10, 1), Shape("chains: depth 2, width 3", 3, 2)]
        levels: tuple[int, ...] = (1, 4)
    else:
        shapes, levels = [stacks.INDEPENDENT, stacks.CHAINS], PARALLELISM
    pve_ratios: list[float] = []
    libvirt_ratios: list[float] = []
    _guarded(ctx, section, "fakepve", lambda: _fakepve(ctx, shapes, levels, pve_ratios))
    _guarded(ctx, section, "libvirt", lambda: _libvirt(ctx, shapes, levels, libvirt_ratios))
    for label, ratios in (("fakepve", pve_ratios), ("libvirt", libvirt_ratios)):
        worst = max(ratios) if ratios else None
        section.goals.append(Goal(f"apply on {label}: wall within 1.25 of the bound",
                                  f"<= {GOAL}", f"worst {worst:.2f}" if worst else "-",
                                  None if worst is None else worst <= GOAL, "ratio"))
    return section


METHOD = f"""
Two graphs of guests: 100 independent guests, and 20 chains of 5 guests where
each waits for the one before it (`depends_on`). Each is applied from nothing
with `--parallelism` 1, 4, 8 and 16, through the engine in-process (as the CLI's
apply does), with the providers' own limits raised to 16 so that
`--parallelism` is the only bound.

- **Proxmox**: a fresh fakepve per run, in its own process, with task durations
  of a small real cluster in PVE seconds (`bench/pve.py`: full clone of a 2 GiB
  template 8, start 1.5, resize 0.5, config 0.3) at time scale {TIME_SCALE}
  (1 PVE second = {TIME_SCALE * 1000:.0f} ms). Each guest is cloned from the
  template, its disk grown to 4 GiB, and started.
- **libvirt**: the real daemon of `scripts/testbed`; each guest has a 64 MiB
  qcow2 disk and a NIC on an isolated network of the stack, and runs: QEMU (TCG)
  starts, but boots nothing (no kernel, a blank disk), so 100 guests do not load
  the 2 cores the way 100 booting kernels would. Torn down after each run.

The bound of each run is computed from that run's own step durations (see
`bench/apply_parallel.py`): it measures how well the executor fills the slots the
graph and the parallelism allow, not how the hypervisor copes with more load.
"""
