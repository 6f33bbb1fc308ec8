"""Download progress: a bar with rate and ETA on a terminal, plain lines elsewhere (a CI
log gets a line every 10% or 15 seconds, not a thousand carriage returns)."""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from typing import IO

from provisioner import streams
from provisioner.units import rough_size

_WIDTH = 24
_REDRAW = 0.2
_LINE_EVERY = 15.0


class Progress:
    """Told the bytes done so far; draws or logs them against ``total``."""

    def __init__(self, label: str, total: int, stream: IO[str] | None = None,
                 tty: bool | None = None, clock: Callable[[], float] = time.monotonic,
                 start: int = 0) -> None:
        self.label = label
        self.total = max(total, 1)
        self.stream = stream or sys.stderr
        self.tty = self.stream.isatty() if tty is None else tty
        self.clock = clock
        self.started = clock()
        self.first = start
        self.shown_at = -1e9
        self.shown_step = start * 10 // self.total

    def __call__(self, done: int) -> None:
        now = self.clock()
        if self.tty:
            if now - self.shown_at >= _REDRAW or done >= self.total:
                self.shown_at = now
                end = "\n" if done >= self.total else ""
                streams.write(self.stream, "\r" + self.line(done, now) + end)
            return
        step = done * 10 // self.total
        if step > self.shown_step or now - self.shown_at >= _LINE_EVERY:
            self.shown_step, self.shown_at = step, now
            streams.write(self.stream, self.line(done, now) + "\n")

    def line(self, done: int, now: float) -> str:
        elapsed = max(now - self.started, 1e-6)
        rate = (done - self.first) / elapsed
        share = min(done / self.total, 1.0)
        left = (self.total - done) / rate if rate > 0 else None
        eta = "--:--" if left is None else _clock(left)
        text = (f"{share:4.0%} {rough_size(done)} of {rough_size(self.total)}, "
                f"{rough_size(int(rate))}/s, ETA {eta}")
        if self.tty:
            filled = int(share * _WIDTH)
            return f"{self.label} [{'#' * filled}{'.' * (_WIDTH - filled)}] {text}"
        return f"{self.label}: {text}"


def _clock(seconds: float) -> str:
    minutes, secs = divmod(int(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"
