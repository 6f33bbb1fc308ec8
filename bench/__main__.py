"""``python -m bench [--quick] [--only plan,apply,startup,peers] [--no-doc]``."""

from __future__ import annotations

import argparse
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
"""

TAIL = """
## What the profiles showed, and what was changed

- **libvirt plans are bound by calls, not by Python.** A no-change plan costs 8
  listings whatever the size (the goal), but 3 reads per running guest: its XML,
  its stored (inactive) XML to see changes waiting for a restart, and its disk's
  size. Against a daemon each read is a round trip: at 10,000 guests about 30,000
  of them, which is most of the plan's time in the profile above
  (`virDomainGetXMLDesc`, `virStorageVolGetInfo`). Reading them from several
  threads did not help: libvirt's remote driver serialises the calls of one
  connection (tried, measured, reverted). What would: reading the stored XML only
  for guests whose live XML says something may be pending, and disk sizes from
  one `virConnectGetAllDomainStats(VIR_DOMAIN_STATS_BLOCK)` call instead of one
  `virStorageVolGetInfo` per disk. Both change what the provider can detect, so
  they are left to a provider change with its own tests.
- **Changed** (`provisioner/`, covered by the existing suites): the plan's diff
  walk and `to_plain`/`from_plain` test leaf types with `type(...) in` before the
  `Mapping` ABC check (1.8 million ABC checks at 10,000 guests, a third of the
  planner's time); `stack/resolve.py` finds dependency cycles with the standard
  library's `graphlib` and imports networkx only to name a cycle it found
  (networkx was a quarter of `provisioner validate`'s imports).
- **Start-up**: what remains is pydantic building the stack models at import
  (`provisioner.stack.model`), typer (which pulls in asyncio) and PyYAML.

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
