"""The one seam that talks to QEMU: its processes, their QMP sockets, and ``qemu-img``.

Every call is counted in the provider's stats: ``LIST`` for the one directory
scan of a plan, ``READ`` for one guest's QMP session, ``WRITE`` for a process
started, a QMP command that changes a guest, or a disk made or grown. QEMU's
own words (``qemu-system-x86_64: -kernel /x: could not open``) reach the user
in one line, with the guest named; no other module runs a program or opens a
socket.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import subprocess
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from qemu.qmp import QMPError
from qemu.qmp.legacy import QEMUMonitorProtocol

from provisioner.errors import ProviderError
from provisioner.providers.base import CallKind, ProviderStats

INSTALL_HINT = "install QEMU (Debian: apt install qemu-system-x86 qemu-utils), or set " \
               "`binary:` / `qemu_img:` of the provider block"
QMP_TIMEOUT = 30.0
"""Seconds one QMP command may take (``block_resize`` on a slow disk is the longest)."""
PROGRAM_TIMEOUT = 600.0
"""Seconds ``qemu-img`` or a starting QEMU may take (a full copy of a large image)."""


class NotRunningError(ProviderError):
    """The guest's QEMU process is not running (no socket, or it does not answer)."""


@dataclass(frozen=True)
class Process:
    """A guest's QEMU process: its pid, found alive and named as the guest."""

    pid: int


class Qmp:
    """An open QMP session with one guest's QEMU."""

    def __init__(self, monitor: QEMUMonitorProtocol, what: str) -> None:
        self._monitor = monitor
        self._what = what

    def __call__(self, command: str, **arguments: Any) -> Any:
        try:
            return self._monitor.cmd(command, **arguments)
        except (QMPError, OSError, EOFError, TimeoutError) as exc:
            raise ProviderError(f"{self._what}: QEMU refused {command}: {_first_line(exc)}") \
                from exc


class QemuHost:
    """QEMU and qemu-img on this machine, run as the current user."""

    def __init__(self, binary: str, qemu_img: str, stats: ProviderStats) -> None:
        self.binary = binary
        self.qemu_img = qemu_img
        self.stats = stats

    def installed(self) -> None:
        """Raise when the QEMU binary is not installed (found on the PATH or as given)."""
        if shutil.which(self.binary) is None:
            raise ProviderError(f"{self.binary} is not installed (not on the PATH)",
                                hint=INSTALL_HINT)

    def launch(self, arguments: Sequence[str], what: str) -> None:
        """Start QEMU with ``arguments`` (which daemonize it): returns once the process
        runs in the background with its QMP socket open. QEMU's complaint, if it does
        not start, is the error."""
        with self.stats.track(CallKind.WRITE):
            self._run([self.binary, *arguments], what, "QEMU did not start")

    @contextmanager
    def qmp(self, socket: Path, what: str, kind: CallKind = CallKind.READ) -> Iterator[Qmp]:
        """A QMP session with the QEMU listening on ``socket``; NotRunningError when
        nothing listens there."""
        with self.stats.track(kind):
            monitor = QEMUMonitorProtocol(str(socket))
            monitor.settimeout(QMP_TIMEOUT)
            try:
                monitor.connect()
            except (QMPError, OSError, EOFError) as exc:
                raise NotRunningError(f"{what}: QEMU is not running ({_first_line(exc)})") \
                    from exc
            try:
                yield Qmp(monitor, what)
            finally:
                with contextlib.suppress(QMPError, OSError, EOFError):  # QEMU quit
                    monitor.close()

    def process(self, pidfile: Path, name: str) -> Process | None:
        """The QEMU process the pidfile names, when it is alive and runs guest ``name``
        (a pid reused by another program after a reboot is not the guest)."""
        try:
            pid = int(pidfile.read_text(encoding="ascii").strip())
            command_line = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
        except (OSError, ValueError):
            return None
        return Process(pid) if f"guest={name}".encode() in command_line else None

    def kill(self, process: Process) -> None:
        """End a QEMU process that no longer answers (SIGKILL); gone already is fine."""
        with self.stats.track(CallKind.WRITE), contextlib.suppress(ProcessLookupError):
            os.kill(process.pid, signal.SIGKILL)

    def image_create(self, path: Path, size: int | None, fmt: str, what: str,
                     backing: Path | None = None, backing_format: str | None = None) -> None:
        """A new disk image: blank of ``size`` bytes, or an overlay on ``backing``
        (``size`` then grows it beyond the backing image's size)."""
        command = [self.qemu_img, "create", "-q", "-f", fmt]
        if backing is not None:
            command += ["-b", str(backing), "-F", backing_format or "qcow2"]
        command.append(str(path))
        if size is not None:
            command.append(str(size))
        with self.stats.track(CallKind.WRITE):
            self._run(command, what, "qemu-img could not make a disk")

    def image_resize(self, path: Path, size: int, fmt: str, what: str) -> None:
        """Grow a disk image of a stopped guest to ``size`` bytes."""
        with self.stats.track(CallKind.WRITE):
            self._run([self.qemu_img, "resize", "-q", "-f", fmt, str(path), str(size)], what,
                      "qemu-img could not grow a disk")

    def image_info(self, path: Path, what: str, shared: bool = False) -> dict[str, Any]:
        """``qemu-img info`` of an image: its format, virtual size and internal snapshots;
        ``shared``: read it even while a running QEMU holds it (``-U``)."""
        with self.stats.track(CallKind.READ):
            output = self._run([self.qemu_img, "info", "--output=json",
                                *(["-U"] if shared else []), str(path)], what,
                               "qemu-img could not read an image")
        info: dict[str, Any] = json.loads(output)
        return info

    def image_snapshot(self, path: Path, flag: str, name: str, what: str) -> None:
        """``qemu-img snapshot -c|-a|-d NAME`` on a stopped guest's qcow2 disk."""
        with self.stats.track(CallKind.WRITE):
            self._run([self.qemu_img, "snapshot", "-q", flag, name, str(path)], what,
                      "qemu-img could not " + {"-c": "take", "-a": "apply",
                                               "-d": "delete"}[flag] + " a snapshot")

    @staticmethod
    def _run(command: Sequence[str], what: str, failed: str) -> str:
        try:
            done = subprocess.run(command, capture_output=True, text=True,
                                  timeout=PROGRAM_TIMEOUT, check=False, stdin=subprocess.DEVNULL)
        except FileNotFoundError as exc:
            raise ProviderError(f"{what}: {command[0]} is not installed",
                                hint=INSTALL_HINT) from exc
        except subprocess.TimeoutExpired as exc:
            raise ProviderError(f"{what}: {failed}: {command[0]} took over "
                                f"{PROGRAM_TIMEOUT:.0f} s") from exc
        if done.returncode != 0:
            raise ProviderError(f"{what}: {failed}: {_first_line(done.stderr) or 'exit code '}"
                                f"{'' if done.stderr.strip() else done.returncode}")
        return done.stdout


def _first_line(error: object) -> str:
    """The first non-empty line of an error or a program's stderr."""
    for line in str(error).splitlines():
        if line.strip():
            return line.strip()
    return type(error).__name__ if isinstance(error, BaseException) else ""
