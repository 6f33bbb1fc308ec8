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

Everything here needs root, as the scripts do.
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
SCRIPTS = REPO / "scripts"
URI = "qemu:///system"


@dataclass(frozen=True)
class TinyGuest:
    """The tiny guest's boot files, for ``<kernel>``/``<initrd>``/``<cmdline>``."""

    kernel: Path
    initrd: Path
    cmdline: str = "console=ttyS0"


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
    def enter(*command: str, timeout: float = 30) -> subprocess.CompletedProcess[str]:
        return _script("testbed", "enter", *command, timeout=timeout)

    return enter
