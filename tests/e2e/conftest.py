"""Fixtures for tests that boot real guests on libvirtd + QEMU.

- ``libvirt_daemon`` (session): the URI ``qemu:///system`` of a running libvirtd.
  Started with ``scripts/testbed start`` when it is not running (and stopped again
  at the end of the session in that case); the test fails, with the script's
  output, when it cannot be started. On a fresh machine run ``scripts/testbed
  install`` first (``.ci/run`` does).
- ``tiny_guest`` (session): kernel and initrd of the tiny test guest
  (``scripts/tiny-guest``), booted directly with ``cmdline``; see
  ``scripts/tiny-guest.d/init`` for the ``TINY: ...`` markers it prints on ttyS0.
- ``domain_type`` (session): ``kvm`` when a KVM guest really makes progress here
  (``scripts/kvm-works``), else ``qemu`` (TCG).
- ``testbed_enter``: runs a command inside libvirtd's network namespace, the only
  place guests' addresses are reachable from (``scripts/testbed enter``).
- ``conn`` (session): a libvirt-python connection to the daemon, for assertions.
- ``new_stack``: ``new_stack()`` gives an ``E2EStack`` (tests/support/e2e.py) named
  after the test, in the test's tmp_path. After the test, the leak check: the
  daemon must hold no domain, network, pool or volume of any stack the test made;
  what it finds is destroyed (then swept with libvirt directly, so later tests
  start clean) and the test fails, naming it.

Each test uses its own stack name, guest and network names, and subnet
(10.79-10.89.x.0/24; 10.77 is test_testbed's), so that nothing can collide.

Everything here needs root, as the scripts do.

With ``PROVISIONER_TEST_LIBVIRT_URI`` set (tests/support/real_hosts.py,
docs/testing.md) ``libvirt_daemon`` is that URI and no testbed is started;
``testbed_enter`` skips; stack names carry the run's id; the leak check is the
same. The tiny guest boots from its kernel and initrd paths on this machine: a
remote host needs them at the same paths.
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import libvirt
import pytest
from support import real_hosts
from support.e2e import (
    E2EStack,
    TinyGuest,
    boot_options,
    check_leaks,
    stack_name,
    stack_objects,
    sweep,
)
from support.postgres import pg_dsn  # noqa: F401  (the state backend's server)

REPO = Path(__file__).resolve().parents[2]
SCRIPTS = REPO / "scripts"
URI = "qemu:///system"


def _script(*args: str, timeout: float) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(SCRIPTS / args[0]), *args[1:]], capture_output=True, text=True,
                          timeout=timeout, check=False, stdin=subprocess.DEVNULL)


def _output(result: subprocess.CompletedProcess[str]) -> str:
    return (result.stdout + result.stderr).strip()


def _need_root() -> None:
    if os.geteuid() != 0:
        pytest.fail("e2e tests run libvirtd and QEMU through scripts/testbed: run them as root",
                    pytrace=False)


@pytest.fixture(scope="session")
def libvirt_daemon() -> Iterator[str]:
    _need_root()
    target = real_hosts.libvirt()
    if target is not None:  # a real host: nothing to start here
        yield target.uri
        return
    already_running = _script("testbed", "status", "--no-probe", timeout=30).returncode == 0
    if not already_running:
        started = _script("testbed", "start", timeout=120)
        if started.returncode != 0:
            pytest.fail(f"scripts/testbed start failed (exit {started.returncode}); on a fresh "
                        f"machine run scripts/testbed install first.\n{_output(started)}",
                        pytrace=False)
    yield URI
    if not already_running:
        stopped = _script("testbed", "stop", timeout=120)
        assert stopped.returncode == 0, f"scripts/testbed stop failed:\n{_output(stopped)}"


@pytest.fixture(scope="session")
def tiny_guest() -> TinyGuest:
    _need_root()
    built = _script("tiny-guest", "path", timeout=600)
    if built.returncode != 0:
        pytest.fail(f"scripts/tiny-guest path failed (exit {built.returncode}):\n{_output(built)}",
                    pytrace=False)
    paths = dict(line.split(" ", 1) for line in built.stdout.splitlines() if " " in line)
    guest = TinyGuest(kernel=Path(paths["kernel"]), initrd=Path(paths["initrd"]))
    assert guest.kernel.is_file() and guest.initrd.is_file(), guest
    return guest


@pytest.fixture(scope="session")
def domain_type(tiny_guest: TinyGuest) -> str:
    # Cached per boot by the script; the first probe takes up to ~8 s where KVM hangs.
    return "kvm" if _script("kvm-works", timeout=120).returncode == 0 else "qemu"


@pytest.fixture(scope="session")
def testbed_enter(libvirt_daemon: str) -> Callable[..., subprocess.CompletedProcess[str]]:
    if real_hosts.libvirt() is not None:
        pytest.skip("runs commands in the testbed's network namespace "
                    f"({real_hosts.LIBVIRT} is set)")
    def enter(*command: str, timeout: float = 30) -> subprocess.CompletedProcess[str]:
        return _script("testbed", "enter", *command, timeout=timeout)

    return enter


@pytest.fixture(scope="session")
def conn(libvirt_daemon: str) -> Iterator[Any]:
    connection = libvirt.open(libvirt_daemon)
    yield connection
    connection.close()


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Any:
    report = yield
    if report.when == "call":
        item.stash[_CALL_FAILED] = report.failed
    return report


_CALL_FAILED = pytest.StashKey[bool]()


@pytest.fixture
def new_stack(request: pytest.FixtureRequest, tmp_path: Path, libvirt_daemon: str,
              tiny_guest: TinyGuest, conn: Any) -> Iterator[Callable[..., E2EStack]]:
    made: list[E2EStack] = []

    def make(suffix: str = "") -> E2EStack:
        name = stack_name(request.node.name, suffix)
        assert name not in {s.name for s in made}, f"stack {name} made twice"
        stack = E2EStack(tmp_path / (name if made or suffix else "stack"), name,
                         libvirt_daemon, boot_options(tiny_guest))
        made.append(stack)
        if stack_objects(conn, name):  # an interrupted earlier run
            sweep(conn, name)
        return stack

    yield make
    check_leaks(conn, made, report=not request.node.stash.get(_CALL_FAILED, False))


def pytest_terminal_summary(terminalreporter: Any) -> None:
    """Timings the tests recorded (``record_property("... seconds", value)``), shown
    even without ``-s``."""
    timings = [(report.nodeid.rsplit("::", 1)[-1], name, value)
               for reports in terminalreporter.stats.values() for report in reports
               if getattr(report, "when", None) == "call"
               for name, value in getattr(report, "user_properties", ())
               if name.endswith("seconds")]
    if timings:
        terminalreporter.write_sep("-", "e2e timings")
        for test, name, value in timings:
            terminalreporter.write_line(f"{name}: {value} ({test})")
