"""``python -m bench [--quick] [--only plan,apply,startup,peers] [--no-doc]``."""

from __future__ import annotations

import argparse
import compileall
import shutil
import sys
import tempfile
import time
import traceback
from collections.abc import Callable
from pathlib import Path

from bench import apply_parallel, machine, peers, plan_scale, startup
from bench.context import ROOT, Context
from bench.report import Section, Table, write_doc

BENCHMARKS: dict[str, Callable[[Context], Section]] = {
    "plan": plan_scale.run_benchmark,
    "apply": apply_parallel.run_benchmark,
    "startup": startup.run_benchmark,
    "peers": peers.run_benchmark,
}
DOC = ROOT / "docs" / "benchmarks.md"


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("--quick", action="store_true",
                        help="small sizes, no peers (CI: checks that the benchmarks run)")
    parser.add_argument("--only", default=",".join(BENCHMARKS),
                        help="comma-separated benchmarks to run (default: all)")
    parser.add_argument("--no-doc", action="store_true",
                        help="print only; do not write docs/benchmarks.md")
    parser.add_argument("--keep", action="store_true", help="keep the work directory")
    args = parser.parse_args()
    chosen = [name.strip() for name in args.only.split(",") if name.strip()]
    unknown = [name for name in chosen if name not in BENCHMARKS]
    if unknown:
        parser.error(f"unknown benchmark(s): {', '.join(unknown)}")
    # Byte-compiled, as an installed package is: with PYTHONDONTWRITEBYTECODE set (it is
    # on these machines) every run of an editable install compiled the changed modules.
    compileall.compile_dir(str(ROOT / "provisioner"), quiet=1)
    work = Path(tempfile.mkdtemp(prefix="bench-"))
    ctx = Context(quick=args.quick, work=work)
    load_before = machine.load()
    started = time.time()
    sections: list[Section] = []
    crashed = False
    try:
        for name in chosen:
            ctx.log(f"benchmark {name}")
            try:
                sections.append(BENCHMARKS[name](ctx))
            except Exception:
                crashed = True
                ctx.log(f"benchmark {name} crashed:\n{traceback.format_exc()}")
                sections.append(Section(name, f"{name}: crashed", notes=[
                    "```\n" + traceback.format_exc() + "```"]))
            print("\n" + sections[-1].text() + "\n", flush=True)
    finally:
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)
    minutes = (time.time() - started) / 60
    facts = machine.describe({
        "load average (1, 5, 15 min)": f"{load_before} at the start, {machine.load()} "
                                       "at the end",
        "run": f"`python -m bench{' --quick' if args.quick else ''}`, "
               f"{time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime(started))}, "
               f"{minutes:.1f} min",
    })
    table = Table("The machine", ["", ""])
    for key, value in facts:
        table.add(key, value)
    print(table.text())
    if not args.no_doc:
        write_doc(DOC, HEAD + "\n\n" + table.markdown(), sections, TAIL)
        ctx.log(f"wrote {DOC.relative_to(ROOT)}")
    if ctx.failures:
        ctx.log(f"could not run: {', '.join(ctx.failures)}")
    return 1 if crashed or ctx.failures else 0


HEAD = """
# Benchmarks

What provisioner costs: plans at scale, applies in parallel, start-up, and the same
job done side by side with Ansible and kcli. Every number below comes from one run
of `python -m bench` on the machine described here; rerun it to get yours (see
[Rerunning](#rerunning)). Benchmarks are not tests: a number never fails CI; CI
runs `python -m bench --quick` (small sizes, no peers) so that they keep working.
provisioner's modules are byte-compiled first, as `pip install` leaves them (these
machines set `PYTHONDONTWRITEBYTECODE`, which otherwise recompiles changed modules on
every start of an editable install).
"""

TAIL = """
## What the profiles showed, and what was changed

The first full run (2026-11-27 09:40 UTC, before these changes) measured: 10,000-guest
libvirt plan 11.97 s; chains at parallelism 16 on fakepve 1.58x their bound; 10
guests on libvirt at parallelism 4 no faster than at 1; converge of the side-by-side
stack 4.25 s; `provisioner --help` 194 ms. What the profiles showed, and the fix:

- **libvirt plans were bound by round trips**: 3 per running guest (live XML,
  stored XML, disk size), 30,000 at 10,000 guests. Now each guest's stored
  definition is read once and the live values come from one
  `virConnectGetAllDomainStats` call (vCPUs online, balloon, disks and their
  capacity, NIC count); a guest's running XML is read only when those disagree
  with its definition; disk sizes of running guests come from the same call. The
  remaining reads go 4 at a time on the connection, so round trips overlap. On the
  qemu driver a running guest costs 1 read; the test driver's statistics carry
  only the state, so there its volumes keep one size read each (2 reads per guest
  in the table above). What the provider no longer sees is in
  docs/providers/libvirt.md ("Drift").
- **The planner's Python** (a third of a 10,000-guest plan): fingerprints of live
  objects are computed only when a plan file needs them; the last applied spec is
  no longer converted whole per resource; the diff walk tests leaf types by
  `type()` before the `Mapping` ABC check; one copy per resource instead of three
  `dataclasses.replace`; the store decodes every applied row's JSON in one
  `json.loads`. `make_plan` of 10,000 guests: 0.70-0.78 s before, 0.31 s after.
- **The executor started ready steps in plan order**, so with 20 chains and 16
  slots the chains' tails ran last; it now starts first the steps heading the
  longest chain of work (create 3, delete 2, update 1, plus the longest line of
  dependents), ties in plan order.
- **libvirtd runs one client's calls largely one after another**: the provider's
  changes now spread over up to 4 writer connections (plans still read on one).
  Past 4 calls in flight on one connection libvirtd stops reading the client's
  socket (`max_client_requests`), which hung an upload in the e2e suite: the
  client keeps below it.
- **Start-up**: `--help` no longer builds the stack models (pydantic); what remains
  is typer (which pulls in asyncio) and, for commands that read a stack, pydantic
  building the models and PyYAML.
- **Second pass (2026-11-27 afternoon)**: a run on a loaded machine put the
  10,000-guest plan at 5.22 s, over its goal. Its profile showed 30,000
  `virDomainGetName` calls (three per domain) and each owner tag's JSON walked
  again after decoding: names are now read once per domain, the UUID comes from
  the definition already parsed, and owner tags are decoded with their blobs in
  one pass (4.30-4.38 s since). Start-up: the stack and provider models are built
  on first use (`defer_build`), the shipped providers are found without scanning
  every installed distribution's entry points, pydantic's own plugin scan is off
  in the CLI, and pycdlib is imported only to build a seed. A no-change re-run of
  the side-by-side stack went from 0.40-0.41 s to 0.36-0.37 s on a quiet machine.
  Still slower than kcli's re-run here: about 90 ms of it is importing pydantic
  and building the models (typer 0.29 imports pydantic too), which a tool that
  does not validate its input does not pay.
- **Third pass (issue 19, 2026-12-04)**, profiled first (`-X importtime`,
  pyinstrument, cProfile, and timers around each phase, minimum of 10 runs): the
  side-by-side re-run then took 0.50 s against kcli's 0.37 s, `validate stacks/demo`
  0.32 s, and a plan with changes spent 80-130 ms importing networkx. Changed: the
  top level of a stack is validated with a skeleton model (its sections are
  validated entry by entry anyway, and the full model built every resource model a
  second time: 37 → 25 ms); the console script builds only the command it runs
  (typer builds every command's parameters before parsing: 17 ms); pydantic is
  imported without asyncio (typing_extensions' `@deprecated` loads asyncio and ssl,
  18 ms, to ask whether a function is a coroutine; a stand-in answers during the
  import, the real module is untouched); the garbage collector is frozen at exit
  (the interpreter's last collections walked every object: 20 ms); the step graph of
  a plan is a small ordered digraph ordered like networkx's
  `lexicographical_topological_sort` (tested against it), and networkx is loaded
  only to name a cycle; apply's executor, the plan file, the capacity report and
  drift load only with the commands that use them; the image cache loads the HTTP
  client only to download. `validate stacks/demo` 0.32 → 0.24 s and the re-run 0.50
  → 0.37 s in the session's own measurements; the tables above are the run's. What
  is left, per `validate` on this machine: the interpreter 37 ms (of which a `.pth`
  file of this sandbox that imports certifi about 10-15), typer 26, pydantic's
  import 45 and its model classes and schemas 30, PyYAML 10, provisioner's
  dataclasses (about 50 for validate, 120 for a plan; Python 3.11 compiles up to six
  methods per frozen dataclass, 0.4-0.5 ms a class; 3.13 compiles them in one pass),
  the stack's own work 25. On the re-run, libvirt's bulk statistics take 40-55 ms
  for 10 running TCG guests (libvirtd asks each QEMU for vCPU, balloon and block
  statistics: about 4 ms a guest here, free on the test driver of benchmark 1), kcli
  reads each domain's XML only; reading the live XML instead is the next lever (one
  more read per running guest), not taken this round.
- **Fourth pass (issue 19, 2026-12-04, later)**: the re-run's 0.35 s was mostly
  start-up (typer, pydantic and the models: about 0.24 s), which no cut could bring
  under kcli's 0.20 s. A `plan`, `apply` or `validate` that finds nothing to change
  now leaves a receipt, and the same command answers from it when nothing the run
  read has changed: the stack's files and directory, the state, the environment
  variables it read, the code, and, for a plan, a fresh read of the host
  (docs/quick-check.md). The console script looks for the receipt before importing
  the command line, on the standard library and libvirt alone. The host is still
  read on every run, in one pass: every domain's stored and running definition,
  the networks and leases, the pools and volumes. That read replaces libvirt's bulk
  statistics, which cost 4 ms per running TCG guest. A receipt is used only after
  a full run confirmed that the host read the same before and after it, so the
  first two re-runs still run in full; the first, a converge's or not, records
  nothing (3 ms for the key). Benchmarks 3 and 4 show each answered command with
  the same command beside it with the check off (`PROVISIONER_QUICK=0`): that is
  the time of a first run, or of a CI job on a fresh runner whose state directory
  was not kept. Apply of a directory no longer imports the plan-file module.
- **Fifth pass (issue 19, 2026-12-05)**: for a run in full (a first run, or the
  quick check off), profiled with `-X importtime`, py-spy, pyinstrument and timers
  around each phase, alternating 15 runs of the new and the previous wheel. `plan`,
  `apply` and `validate` of one stack with only their simplest flags now call the
  command's function without typer (`provisioner/command_line.py`; a unit test
  compares its arguments with typer's, command line by command line), so typer and
  click are not imported; pydantic's plugin loader, whose import alone loads
  importlib.metadata, email, zipfile and socket though plugins are off, is a stand-in
  returning none; provisioner's own entry-point scan imports importlib.metadata only
  for a provider type that is not built in; the state store's module is no longer
  imported by the stack models; the cyclic collector is paused until the stack is
  loaded, then what start-up made is frozen; the models' default factories are
  functions (pydantic parsed the text signature of `list` with the tokenizer).
  `validate stacks/demo` 228 → 181 ms and a 3-guest no-change plan 301 → 260 ms in
  those alternating runs. What is left of the plan: pydantic's import (about 55 ms)
  and its validators for the models the stack uses (about 30), Python 3.11 compiling
  the methods of 166 dataclasses (about 70 ms; pydantic's and annotated_types' are
  18 of it), libvirt's C module (14), PyYAML (10). The converge is start-up and
  plan (0.26 s) then the executor at the floor's pace (network 0.08 s, then the
  guests 4 at a time; 4 or 10 at a time measured the same here, QEMU's start is
  CPU-bound on 2 cores); its ratio is now from the medians of 3 converges each.
- **Sixth pass (issue 19, 2026-12-05, later)**: the converge. The CPU time of every
  process was counted during provisioner's converge and the floor's: both keep the
  2 cores busy to the end, and provisioner added its own CPU (0.25 s: 0.18 s of
  start-up and plan before its first call, alone on one core, the rest during the
  apply) and nothing in libvirtd or QEMU (its domain XML starts as fast as the
  floor's). Changed: a create may begin before the steps it waits on are done
  when its provider says the first part needs none of their objects
  (`Provider.create_ahead`): a libvirt guest's disks are made while its network is
  created, and its reservations, definition and start wait at a gate (a failed
  network skips it after its disks are removed; tests/e2e/test_create_ahead.py
  breaks one on the daemon). libvirt guests whose disks are empty or overlays no
  longer take the pool's lane (it bounds copies and imports), and the default
  parallelism is 10, as Terraform's: the floor on 10 connections beat the floor on 4
  by 0.07-0.15 s in alternating runs (QEMU's starts are not only CPU: the fifth
  pass's "the same" was one sample each), and 10 guests converged 0.06-0.3 s sooner
  at 11 at once than at 8. Apply no longer imports socket, subprocess or tempfile.
  The peers' provisioner rows now run the wheel's venv, as benchmark 3 does (the
  development interpreter carried an editable finder and a certifi `.pth`, about
  20 ms), and the converge ratio is from medians of 5 converges each. One sample
  of the floor moved between 2.1 and 3.0 s within an hour on this machine, so
  the ratio moves by a few hundredths from run to run.
- **Seventh pass (issue 19, 2026-12-05, tenth session)**: the converge on a faster
  machine state, where the floor took 1.42 s and provisioner's fixed start-up
  (about 0.19 s before its first call) weighed more: 1.21. Sampling the CPU every
  50 ms showed the 2 cores partly idle in the 0.2 s after the network's start, and
  a trace of the calls showed the network's start taking 130 ms inside the apply
  against 88 ms alone. Changed: changes spread over 10 writer connections, one per
  change at the default `max_parallel`, not 4 (libvirtd runs one client's calls
  largely one after another); a guest begun ahead is also defined before its
  network exists when it reserves no address (libvirt checks the networks at the
  start); guests begun ahead make their disks 2 at a time, so that `qemu-img`
  slows the network's start less; a system error of errno EAGAIN ("failed to load
  cgroup BPF prog", seen once with 10 guests starting) is asked again. Together:
  1.70 s against 1.72 s (medians of 20 alternating converges); each alone
  measured 0.03-0.1 s in 8 alternating rounds, within this machine's noise.
- **What no change can reach**: the floor rows of benchmark 4 are bare
  libvirt-python calls, no tool around them; a tool's converge cannot go below
  them, and a re-run cannot go below a new Python process that connects and reads
  each guest's XML.

## Rerunning

On a fresh Debian 12 machine, as root, after the README's setup
(`scripts/install-deps`):

```
bench/install          # pyinstrument, and Ansible and kcli in their own venvs (for 4.)
python -m bench        # everything (about 20-30 minutes on 2 cores); writes this file
python -m bench --quick --no-doc          # the CI check, < 2 minutes
python -m bench --only plan,startup       # some benchmarks only
```

The benchmarks start what they need and stop what they started: a private
libvirtd for the test driver (plan scaling), fakepve in a child process, and the
testbed's libvirtd (`scripts/testbed start`, stopped again only if the benchmark
started it). Guests, networks and volumes they make are named `bench-*`,
`scale`, `b*-N` and removed at the end of each run. The code is in `bench/`: one
module per benchmark, `bench/stacks.py` for every stack file and guest definition.
"""


if __name__ == "__main__":
    sys.exit(main())
