"""Benchmark 1: no-change plans at scale, wall time, peak RSS and API calls.

libvirt: 10 to 10,000 running guests (a disk and a NIC each) on libvirt's test
driver behind a private libvirtd (``libvirt_sim``). The first guest is applied by
provisioner; the others are copies of its definition (new name, UUID, MAC, disk)
defined and started with libvirt calls, then recorded in the state by the engine's
recovery path: the same objects and state an apply makes, in a fraction of the
time. Proxmox: 10 to 2,000 guests applied by provisioner on fakepve; vSphere:
10 to 2,000 on vcsim (``plan_vsphere``).

Each plan is the real CLI in a new process (``provisioner plan DIR --stats``).
"""

from __future__ import annotations

import re
from pathlib import Path

import libvirt

from bench import drive, stacks
from bench.context import Context
from bench.libvirt_sim import SimDaemon
from bench.measure import Timer, median
from bench.plan_runs import measure, profile_into
from bench.plan_vsphere import run_vsphere
from bench.pve import PveServer
from bench.report import Goal, Section, Table, fmt_mb, fmt_s

LIBVIRT_SIZES = (10, 100, 1000, 10000)
PROXMOX_SIZES = (10, 100, 500, 2000)
QUICK_LIBVIRT = (10, 100)
QUICK_PROXMOX = (10, 50)


class Population:
    """A libvirt stack grown to N guests (see the module docstring)."""

    def __init__(self, sim: SimDaemon, directory: Path) -> None:
        self.sim = sim
        self.dir = directory
        self.count = 0
        self.template = ""

    @property
    def conn(self) -> libvirt.virConnect:
        assert self.sim.conn is not None
        return self.sim.conn

    def grow(self, size: int) -> None:
        stack_file = self.dir / "stack.yaml"
        if self.count == 0:
            stacks.write(self.dir, stacks.libvirt_scale(self.sim.uri, 1))
            drive.must_apply(stack_file)
            domain = self.conn.lookupByName("g-0")
            xml = domain.XMLDesc(libvirt.VIR_DOMAIN_XML_INACTIVE)
            self.template = re.sub(r"\s*<uuid>[^<]*</uuid>|\s*<mac address=[^>]*/>", "", xml)
            self.count = 1
        pool = self.conn.storagePoolLookupByName(stacks.SIM_POOL)
        for index in range(self.count, size):
            name = f"g-{index}"
            pool.createXML(f"<volume><name>scale.sim__{name}__disk0.qcow2</name>"
                           "<capacity unit='MiB'>4</capacity><target><format type='qcow2'/>"
                           "</target></volume>", 0)
            xml = (self.template.replace(">g-0<", f">{name}<")
                   .replace('"guests.g-0"', f'"guests.{name}"')
                   .replace("__g-0__", f"__{name}__").replace("/g-0-", f"/{name}-"))
            self.conn.defineXML(xml).create()
        self.count = size
        stacks.write(self.dir, stacks.libvirt_scale(self.sim.uri, size))
        plan = drive.record_unrecorded(stack_file)
        if plan.has_changes:
            raise RuntimeError(f"the copied guests do not match the stack: {plan.changes[:3]}")


def _libvirt(ctx: Context, section: Section) -> None:
    sizes = QUICK_LIBVIRT if ctx.quick else LIBVIRT_SIZES
    table = Table("libvirt (test driver behind a private libvirtd): no-change plan",
                  ["guests", "wall (median)", "runs", "peak RSS", "connect", "list", "read",
                   "setup"])
    section.tables.append(table)
    results: dict[int, tuple[float, float, dict[str, int]]] = {}
    with SimDaemon() as sim:
        population = Population(sim, ctx.dir("plan-libvirt"))
        for size in sizes:
            ctx.log(f"plan scaling, libvirt: growing to {size} guests")
            with Timer() as setup:
                population.grow(size)
            repeats = 3 if size >= 10000 else 5
            runs, calls = measure(population.dir, 1 if ctx.quick else repeats)
            wall = median([r.seconds for r in runs])
            rss = max(r.peak_rss_mb for r in runs)
            results[size] = (wall, rss, calls)
            table.add(size, fmt_s(wall), len(runs), fmt_mb(rss), calls.get("connect", 0),
                      calls.get("list", 0), calls.get("read", 0), fmt_s(setup.seconds))
            ctx.log(f"  {size}: {wall:.2f}s {rss:.0f}MB {calls}")
        if not ctx.quick:
            profile_into(ctx, section, population.dir, f"{sizes[-1]:,}-guest libvirt plan")
    lists = {calls.get("list", 0) for _, _, calls in results.values()}
    section.goals.append(Goal("libvirt: list calls constant in the number of guests",
                              "constant", ", ".join(
                                  f"{results[s][2].get('list', 0)} at {s}" for s in sizes),
                              len(lists) == 1, "count"))
    biggest = sizes[-1]
    if biggest >= 10000:
        wall, rss, _ = results[biggest]
        section.goals.append(Goal("libvirt: 10,000-guest plan time", "< 5 s", fmt_s(wall),
                                  wall < 5))
        section.goals.append(Goal("libvirt: 10,000-guest plan memory", "< 500 MB",
                                  fmt_mb(rss), rss < 500))


def _proxmox(ctx: Context, section: Section) -> None:
    sizes = QUICK_PROXMOX if ctx.quick else PROXMOX_SIZES
    table = Table("Proxmox (fakepve): no-change plan",
                  ["guests", "wall (median)", "runs", "peak RSS", "connect", "list", "read",
                   "calls - guests", "setup (apply)"])
    section.tables.append(table)
    extra = []
    results: dict[int, tuple[float, float, dict[str, int]]] = {}
    with PveServer(0.0) as pve:
        block = stacks.proxmox_block(pve.endpoint, pve.token_id, "PVE_BENCH_TOKEN",
                                     pve.ca_file)
        directory = ctx.dir("plan-proxmox")
        for size in sizes:
            ctx.log(f"plan scaling, Proxmox: applying {size} guests")
            stacks.write(directory, stacks.proxmox_fleet(block, size))
            with Timer() as setup:
                drive.must_apply(directory / "stack.yaml", parallelism=16)
            runs, calls = measure(directory, 1 if ctx.quick else 5)
            wall = median([r.seconds for r in runs])
            total = sum(calls.values())
            extra.append(total - size)
            rss = max(r.peak_rss_mb for r in runs)
            results[size] = (wall, rss, calls)
            table.add(size, fmt_s(wall), len(runs), fmt_mb(rss),
                      calls.get("connect", 0), calls.get("list", 0), calls.get("read", 0),
                      total - size, fmt_s(setup.seconds))
            ctx.log(f"  {size}: {wall:.2f}s {calls}")
        if not ctx.quick:
            profile_into(ctx, section, directory, f"{sizes[-1]:,}-guest Proxmox plan")
    fixed = {calls.get("connect", 0) + calls.get("list", 0) for _, _, calls in results.values()}
    per_guest = {calls.get("read", 0) / size for size, (_, _, calls) in results.items()}
    section.goals.append(Goal(
        "Proxmox: calls per plan = a constant (connect, list) + the same reads per guest",
        "guests x k + constant", ", ".join(f"{e + s} at {s}" for e, s in
                                           zip(extra, sizes, strict=True)),
        len(fixed) == 1 and len(per_guest) == 1, "count"))
    _biggest(section, "Proxmox", results)


def _biggest(section: Section, provider: str,
             results: dict[int, tuple[float, float, dict[str, int]]]) -> None:
    """The largest plan's wall time and memory as goals (the libvirt 10,000-guest ones)."""
    size = max(results)
    wall, rss, _ = results[size]
    section.goals.append(Goal(f"{provider}: {size:,}-guest plan time", "< 5 s",
                              fmt_s(wall), wall < 5))
    section.goals.append(Goal(f"{provider}: {size:,}-guest plan memory", "< 500 MB",
                              fmt_mb(rss), rss < 500))


METHOD = """
Each plan is `provisioner plan DIR --stats` run as a new process, as a user runs it:
wall time from fork to exit (median of the runs after one warm-up run), peak RSS
(`ru_maxrss` of the process), and the provider calls `--stats` counts by kind.

- **libvirt**: libvirt's `test:///default` driver served by a private libvirtd
  (session mode, as `nobody`, in a temporary directory; `bench/libvirt_sim.py`),
  so the plan talks to it over libvirt's RPC as it would to a real host, and the
  driver's memory is not the plan's. Every guest runs and has a 4 MiB qcow2 disk
  and a NIC on the stack's network. The first guest is applied by provisioner;
  the rest are copies of its definition (new name, UUID, MAC and disk) made with
  libvirt calls and then recorded in the state by the engine's own recovery path,
  so the plan sees what an apply would have left. A node file (`test:///PATH`)
  was not used: every client parses it again at connect (4-5 s and ~500 MB at
  10,000 domains, measured here), which no real hypervisor costs its clients.
- **Proxmox**: fakepve (in its own process, tasks instant) with a template
  `debian-12`; the guests are cloned from it, grown and started by provisioner
  (the stack grows from one size to the next; each apply adds the new guests).
- **vSphere**: vcsim (tests/vcsim/main.go, a vCenter with a cluster of three
  hosts) started by the benchmark on a port of its own and seeded as the tests
  seed it; the guests (stopped, one 16 MiB disk, one NIC on "VM Network") are
  made by provisioner apply, 32 at a time, the stack growing as for Proxmox.
  "calls" is every call `--stats` counts (connect: login and inventory view).
"""


def run_benchmark(ctx: Context) -> Section:
    section = Section("plan", "1. Plan scaling", METHOD)
    _libvirt(ctx, section)
    _proxmox(ctx, section)
    vsphere = run_vsphere(ctx, section)
    _biggest(section, "vSphere", vsphere)
    return section
