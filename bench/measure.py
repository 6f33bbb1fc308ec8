"""Running a command and measuring it: wall time, peak RSS, exit code, output."""

from __future__ import annotations

import os
import shutil
import statistics
import subprocess
import tempfile
import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

GNU_TIME = shutil.which("time", path="/usr/bin:/bin")
"""GNU time, when installed, reports the command's own peak RSS. A child forked by
this (large) process inherits its high-water mark in ``ru_maxrss`` instead, so the
fallback overstates small commands."""
_MARK = "BENCH_MAXRSS_KIB="


@dataclass(frozen=True)
class Run:
    """One finished command."""

    seconds: float
    peak_rss_mb: float
    """ru_maxrss of the command (the largest of its process tree's processes)."""
    returncode: int
    stdout: str
    stderr: str

    @property
    def ok(self) -> bool:
        return self.returncode == 0

    def tail(self, lines: int = 12) -> str:
        text = (self.stdout.strip() + "\n" + self.stderr.strip()).strip().splitlines()
        return "\n".join(text[-lines:])


def run(cmd: Sequence[str], *, cwd: Path | None = None, env: Mapping[str, str] | None = None,
        timeout: float = 1800.0) -> Run:
    """Run ``cmd`` to the end; never raises for a non-zero exit (the caller decides)."""
    merged = {**os.environ, **(env or {})}
    wrapped = [GNU_TIME, "-q", "-f", f"{_MARK}%M", *cmd] if GNU_TIME else list(cmd)
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        start = time.perf_counter()
        process = subprocess.Popen(wrapped, cwd=cwd, env=merged, stdout=out, stderr=err,
                                   stdin=subprocess.DEVNULL)
        killer = threading.Timer(timeout, process.kill)
        killer.start()
        try:
            _, status, usage = os.wait4(process.pid, 0)
        finally:
            killer.cancel()
        seconds = time.perf_counter() - start
        process.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        stderr = err.read().decode(errors="replace")
        peak_kib = usage.ru_maxrss
        if GNU_TIME and _MARK in stderr:
            stderr, _, tail = stderr.rpartition(_MARK)
            peak_kib = int(tail.split()[0])
        return Run(seconds, peak_kib / 1024, process.returncode,
                   out.read().decode(errors="replace"), stderr)


def median(values: Sequence[float]) -> float:
    return statistics.median(values) if values else float("nan")


class Timer:
    """``with Timer() as t: ...``; then ``t.seconds``."""

    seconds: float = 0.0

    def __enter__(self) -> Timer:
        self._start = time.perf_counter()
        return self

    def __exit__(self, *exc: object) -> None:
        self.seconds = time.perf_counter() - self._start
