"""Benchmark 1, vSphere part: no-change plans of 10 to 2,000 guests on vcsim.

The simulator is tests/vcsim/main.go (``scripts/vcsim build``), started here on a
free port of its own with the objects the tests seed (template ``debian-12``,
folders, pool), so a simulator the tests or a user started is not touched. The
guests are applied by provisioner, a stack grown from one size to the next, so
the simulator and the state hold what a real apply leaves.
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path
from typing import Any

from bench import drive, stacks
from bench.context import ROOT, Context
from bench.measure import Timer, median
from bench.plan_runs import measure, profile_into
from bench.report import Goal, Section, Table, fmt_mb, fmt_s

SIZES = (10, 100, 500, 2000)
QUICK_SIZES = (10, 50)
PARALLEL = 32


def _simulator_class() -> Any:
    """tests/support/vcsim.py's Simulator (the tests' own start, seed and stop)."""
    tests = str(ROOT / "tests")
    if tests not in sys.path:
        sys.path.insert(0, tests)
    from support import vcsim  # type: ignore[import-not-found]
    reason = vcsim.missing()
    if reason is not None:
        raise RuntimeError(reason)
    return vcsim.Simulator


def vsphere_fleet(block: dict[str, Any], count: int) -> str:
    """``count`` stopped guests made from scratch, one 16 MiB disk and one NIC each (the
    template's 2 GiB disk, 2,000 times, would not fit the simulator's datastore)."""
    return stacks.header("fleet", {"vc": stacks.flow(block)}) + f"""guests:
  vm:
    provider: vc
    count: {count}
    cpus: 1
    memory: 4MiB
    power: stopped
    disks: [ {{ size: 16MiB }} ]
    networks: [ {{ host_network: VM Network }} ]
"""


def run_vsphere(ctx: Context, section: Section) -> dict[int, tuple[float, float, dict[str, int]]]:
    """Add the vSphere table, its goal and (full runs) its profile to ``section``."""
    sizes = QUICK_SIZES if ctx.quick else SIZES
    table = Table("vSphere (vcsim, a vCenter: cluster of 3 hosts): no-change plan",
                  ["guests", "wall (median)", "runs", "peak RSS", "connect", "list", "read",
                   "calls", "setup (apply)"])
    section.tables.append(table)
    results: dict[int, tuple[float, float, dict[str, int]]] = {}
    simulator = _simulator_class().start("vpx", Path(tempfile.mkdtemp(prefix="bench-vcsim-")))
    try:
        block = simulator.provider_block(max_parallel=PARALLEL, timeout=60, task_timeout=120,
                                         capacity={"cpu_overcommit": 64})
        directory = ctx.dir("plan-vsphere")
        for size in sizes:
            ctx.log(f"plan scaling, vSphere: applying {size} guests")
            stacks.write(directory, vsphere_fleet(block, size))
            with Timer() as setup:
                drive.must_apply(directory / "stack.yaml", parallelism=PARALLEL)
            runs, calls = measure(directory, 1 if ctx.quick else (3 if size >= 2000 else 5))
            wall = median([r.seconds for r in runs])
            rss = max(r.peak_rss_mb for r in runs)
            results[size] = (wall, rss, calls)
            table.add(size, fmt_s(wall), len(runs), fmt_mb(rss), calls.get("connect", 0),
                      calls.get("list", 0), calls.get("read", 0),
                      sum(calls.values()), fmt_s(setup.seconds))
            ctx.log(f"  {size}: {wall:.2f}s {rss:.0f}MB {calls}")
        if not ctx.quick:
            profile_into(ctx, section, directory, f"{sizes[-1]:,}-guest vSphere plan")
    finally:
        simulator.stop()
    totals = [sum(results[s][2].values()) for s in sizes]
    section.goals.append(Goal("vSphere: calls per plan constant in the number of guests",
                              "constant", ", ".join(f"{t} at {s}" for t, s in
                                                    zip(totals, sizes, strict=True)),
                              len(set(totals)) == 1, "count"))
    return results
