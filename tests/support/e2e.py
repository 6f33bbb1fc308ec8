"""Stacks on the real libvirtd for the e2e tests (tests/e2e).

``E2EStack`` is one stack directory: write its file, plan, apply and destroy
in-process through the engine (as ``tests/integration`` does), or run the
real console script on it. Both use the default state file beside the stack,
so they see the same state.

``stack_objects`` lists what the daemon holds for a stack (domains and
networks by their owner tag, volumes and pools by their names, see
``provisioner.providers.libvirt.ownership``); ``sweep`` removes those with
libvirt directly, for when ``destroy`` itself is what failed.

Serial logs: the tiny guest prints ``TINY: ...`` markers on ttyS0, which the
provider logs to ``/var/log/libvirt/qemu/<guest>-serial.log`` (truncated at
each start of the domain). ``wait_serial`` polls one for a pattern.
"""

from __future__ import annotations

import contextlib
import re
import shutil
import subprocess
import time
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import libvirt
import pytest

from provisioner.apply.executor import ApplyResult
from provisioner.apply.progress import CollectingProgress as Recorder
from provisioner.core.resources import LiveObject
from provisioner.engine import Engine
from provisioner.plan.model import Plan
from provisioner.plan.planner import PlanOptions
from provisioner.providers.libvirt.ownership import parse_owner, parse_volume_name
from provisioner.stack.loader import Stack, load_stack
from provisioner.stack.variables import VariableInputs
from support import real_hosts
from support.plans import changes, describe  # noqa: F401  (re-exported for tests/e2e)

REPO = Path(__file__).resolve().parents[2]
PROVISIONER = shutil.which("provisioner") or "provisioner"
BOOT_OPTIONS = "BOOT_OPTIONS"
"""Written in a stack body where the tiny guest's direct-boot options go:
``options: { BOOT_OPTIONS, max_cpus: 2 }``."""
SERIAL_TIMEOUT = 120.0  # TCG on a busy 2-core machine: ~2.5 s to boot, ~5 s more to a lease
_UNDEFINE_FLAGS = (libvirt.VIR_DOMAIN_UNDEFINE_MANAGED_SAVE
                   | libvirt.VIR_DOMAIN_UNDEFINE_SNAPSHOTS_METADATA
                   | libvirt.VIR_DOMAIN_UNDEFINE_NVRAM)




E2E_CAPACITY = "{ cpu_overcommit: 32 }"
"""Tiny guests on a CI machine of 2 CPUs, with whatever else runs there (benchmarks):
more vCPUs per CPU than a real host would allow (the default is 4)."""


@dataclass
class E2EStack:
    """One stack directory on the real daemon."""

    directory: Path
    name: str
    uri: str
    boot_options: str
    """``kernel: ..., initrd: ..., cmdline: ...`` of the tiny guest (flow-mapping items)."""
    variables: tuple[str, ...] = ()
    """``NAME=VALUE`` assignments, as ``--var`` gives them."""

    @property
    def file(self) -> Path:
        return self.directory / "stack.yaml"

    def header(self, providers: str | None = None) -> str:
        providers = providers or (f'  kvm: {{ type: libvirt, uri: "{self.uri}", '
                                  f'capacity: {E2E_CAPACITY} }}\n')
        return f"apiVersion: provisioner/v1\nstack: {self.name}\nproviders:\n{providers}"

    def write(self, body: str, providers: str | None = None) -> None:
        """The stack file: this stack's header (one provider ``kvm`` by default) + ``body``."""
        self.directory.mkdir(parents=True, exist_ok=True)
        self.file.write_text(self.header(providers) + body.replace(BOOT_OPTIONS,
                                                                   self.boot_options))

    def write_file(self, name: str, text: str) -> Path:
        path = self.directory / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
        return path

    def load(self) -> Stack:
        return load_stack(self.directory, VariableInputs(assignments=self.variables),
                          cwd=self.directory)

    def var_args(self) -> list[str]:
        """The variables as console-script arguments (plan, apply, destroy)."""
        return [arg for assignment in self.variables for arg in ("--var", assignment)]

    @contextlib.contextmanager
    def engine(self) -> Iterator[Engine]:
        with Engine(self.load()) as engine:
            yield engine

    def plan(self, options: PlanOptions | None = None) -> Plan:
        with self.engine() as engine:
            return engine.plan(options)

    def apply(self) -> tuple[Plan, ApplyResult]:
        """Plan and apply (and store the outputs); fails with every step's outcome
        unless all succeeded."""
        with self.engine() as engine:
            plan = engine.plan()
            result = engine.apply(plan, Recorder())
            assert result.ok, _failures("apply", result)
            engine.outputs()
            return plan, result

    def destroy(self) -> ApplyResult:
        with self.engine() as engine:
            result = engine.apply(engine.plan(PlanOptions(destroy=True)), Recorder(),
                                  command="destroy")
            assert result.ok, _failures("destroy", result)
            return result

    def live(self) -> dict[str, LiveObject]:
        """What the providers list now, by address (``guests.web-0``)."""
        with self.engine() as engine:
            return {str(obj.address): obj for inventory in engine.refresh().values()
                    for obj in inventory.managed}

    def cli(self, *args: str, timeout: float = 180) -> subprocess.CompletedProcess[str]:
        """The console script: ``cli("plan", "--detailed-exitcode")`` runs
        ``provisioner plan STACKDIR --detailed-exitcode``."""
        return subprocess.run([PROVISIONER, args[0], str(self.directory), *args[1:]],
                              capture_output=True, text=True, timeout=timeout, check=False,
                              stdin=subprocess.DEVNULL)


def _failures(command: str, result: ApplyResult) -> str:
    return f"{command} failed:\n" + "\n".join(f"  {r.step.key}: {r.outcome.value}: {r.message}"
                                         for r in result.results)


@dataclass(frozen=True)
class TinyGuest:
    """The tiny guest's boot files, for ``<kernel>``/``<initrd>``/``<cmdline>``."""

    kernel: Path
    initrd: Path
    cmdline: str = "console=ttyS0"


def boot_options(guest: TinyGuest) -> str:
    """The tiny guest's direct kernel boot, as items of a guest's ``options:`` mapping."""
    return f"kernel: {guest.kernel}, initrd: {guest.initrd}, cmdline: {guest.cmdline}"


def stack_name(test_name: str, suffix: str = "") -> str:
    """``e2e-`` and the test's name (without ``test_``), as a DNS label; on a real host
    (``PROVISIONER_TEST_LIBVIRT_URI``) with the run's id after it, unique to the run."""
    slug = re.sub(r"[^a-z0-9]+", "-", test_name.removeprefix("test_").lower()).strip("-")
    name = f"e2e-{slug[:40].strip('-')}{suffix}"
    return real_hosts.stack_name(name) if real_hosts.libvirt() is not None else name


def check_leaks(conn: Any, stacks: list[E2EStack], report: bool) -> None:
    """Destroy and sweep what ``stacks`` left on the daemon; fail naming it if
    ``report`` (a test that already failed is not reported twice)."""
    leaks: dict[str, list[str]] = {}
    for stack in stacks:
        found = stack_objects(conn, stack.name)
        if not found:
            continue
        leaks[stack.name] = found
        with contextlib.suppress(Exception):  # the sweep below is the fallback
            stack.destroy()
        sweep(conn, stack.name)
    if leaks and report:
        left = "; ".join(f"stack {name}: {', '.join(found)}" for name, found in leaks.items())
        still = [o for stack in stacks for o in stack_objects(conn, stack.name)]
        pytest.fail(f"the test left objects on the daemon ({left}); destroyed them"
                    + (f", but these remain: {', '.join(still)}" if still else ""),
                    pytrace=False)


# --- what the daemon holds --------------------------------------------------------


def stack_objects(conn: Any, stack: str) -> list[str]:
    """Every domain, network, pool and volume of ``stack`` on the daemon, as
    ``kind name`` strings (empty when the stack left nothing)."""
    found = [f"domain {d.name()}" for d in _tagged(conn.listAllDomains(), stack)]
    found += [f"network {n.name()}" for n in _tagged(conn.listAllNetworks(), stack)]
    for pool in conn.listAllStoragePools():
        if pool.name().startswith(f"{stack}."):
            found.append(f"pool {pool.name()}")
        if not pool.isActive():
            continue
        with contextlib.suppress(libvirt.libvirtError):  # busy: the listing may be stale
            pool.refresh(0)
        found += [f"volume {pool.name()}/{volume.name()}" for volume in _volumes(pool, stack)]
    return found


def sweep(conn: Any, stack: str) -> None:
    """Remove every object of ``stack`` with libvirt directly (best effort)."""
    for domain in _tagged(conn.listAllDomains(), stack):
        with contextlib.suppress(libvirt.libvirtError):
            if domain.isActive():
                domain.destroy()
            domain.undefineFlags(_UNDEFINE_FLAGS)
    for network in _tagged(conn.listAllNetworks(), stack):
        with contextlib.suppress(libvirt.libvirtError):
            if network.isActive():
                network.destroy()
            network.undefine()
    for pool in conn.listAllStoragePools():
        if pool.isActive():
            for volume in _volumes(pool, stack):
                with contextlib.suppress(libvirt.libvirtError):
                    volume.delete(0)
        if pool.name().startswith(f"{stack}."):
            with contextlib.suppress(libvirt.libvirtError):
                if pool.isActive():
                    pool.destroy()
                pool.undefine()


def _tagged(objects: list[Any], stack: str) -> list[Any]:
    tagged = []
    for obj in objects:
        try:
            tag = parse_owner(ET.fromstring(obj.XMLDesc(0)))
        except libvirt.libvirtError:
            continue  # gone meanwhile
        if tag is not None and tag.stack == stack:
            tagged.append(obj)
    return tagged


def _volumes(pool: Any, stack: str) -> list[Any]:
    try:
        volumes = pool.listAllVolumes()
    except libvirt.libvirtError:
        return []
    return [v for v in volumes if (parsed := parse_volume_name(v.name())) is not None
            and parsed.owner.split(".", 1)[0] == stack]


def domain_xml(conn: Any, name: str, flags: int = 0) -> ET.Element:
    return ET.fromstring(conn.lookupByName(name).XMLDesc(flags))


def volume_xml(conn: Any, pool: str, name: str) -> ET.Element:
    return ET.fromstring(conn.storagePoolLookupByName(pool).storageVolLookupByName(name)
                         .XMLDesc(0))


# --- serial logs ------------------------------------------------------------------


def serial_log(guest: LiveObject) -> Path:
    target = real_hosts.libvirt()
    if target is not None and target.remote:
        pytest.skip("reads the guest's serial log, a file on the libvirt host: "
                    f"{real_hosts.LIBVIRT} names another machine")
    return Path(str(guest.attributes["serial_log"]))


def wait_serial(path: Path, pattern: str, timeout: float = SERIAL_TIMEOUT) -> re.Match[str]:
    """The first match of ``pattern`` (a regex, multiline) in the serial log, polled
    until ``timeout``; fails with the log's content."""
    deadline = time.monotonic() + timeout
    text = ""
    while True:
        with contextlib.suppress(FileNotFoundError):
            text = path.read_text(errors="replace").replace("\r", "")
        match = re.search(pattern, text, re.MULTILINE)
        if match is not None:
            return match
        if time.monotonic() >= deadline:
            markers = "\n".join(line for line in text.splitlines() if "TINY:" in line)
            raise AssertionError(f"{path}: no line matching {pattern!r} after {timeout:.0f}s; "
                                 f"markers so far:\n{markers or '(none)'}")
        time.sleep(0.2)


def booted(path: Path, timeout: float = SERIAL_TIMEOUT) -> None:
    """Wait until the guest's ACPI daemon runs, so a clean shutdown works (before that,
    one would wait for the hard-stop timeout)."""
    wait_serial(path, r"^TINY: acpi$", timeout)


def ssh_without_host_keys(directory: Path) -> Path:
    """A directory holding an ``ssh`` that runs the real one neither checking nor
    remembering host keys (a test's guest has a new key at each run), in batch mode:
    put it first on PATH for ``provisioner ssh`` and hooks, as a user's own
    ~/.ssh/config would for lab guests."""
    bin_dir = directory / "bin"
    bin_dir.mkdir(exist_ok=True)
    (bin_dir / "ssh").write_text('#!/bin/sh\nexec /usr/bin/ssh -F /dev/null '
                                 '-o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null '
                                 '-o LogLevel=ERROR -o BatchMode=yes "$@"\n')
    (bin_dir / "ssh").chmod(0o755)
    return bin_dir
