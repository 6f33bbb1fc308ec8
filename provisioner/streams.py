"""Writing to the terminal or a pipe whose reader may go away.

``provisioner plan | head`` closes the pipe while provisioner still writes. A tool
that dies there is fine for a plan, but an apply must not stop half-way because its
log reader did: a step would be left started and not recorded. So a closed output
(or a terminal that was closed) is sent to /dev/null from then on, and the command
finishes what it started. An output that cannot be written for another reason (a
full disk, ``> /dev/full``) is sent there too, said once on stderr, and the command
exits 1 at its end (``lost_output``): a plan saved to a full disk is not a plan.
A standard stream closed before the start (``apply <&-``, ``plan >&-``) is opened
on /dev/null (``ensure_standard_streams``): without a terminal, apply refuses to
ask, as for any input that is not one.
"""

from __future__ import annotations

import errno
import os
import sys
from typing import IO

_lost: list[str] = []
copies: list[tuple[str, str]] | None = None
"""When set (the quick check records a run), what is written to stdout ("out") and
stderr ("err"), in order."""


def write(stream: IO[str], text: str) -> None:
    """Write ``text`` to ``stream`` and flush; if the reader has gone, write nothing
    more to it (it is pointed at /dev/null) and carry on."""
    if copies is not None and (stream is sys.stdout or stream is sys.stderr):
        copies.append(("out" if stream is sys.stdout else "err", text))
    try:
        stream.write(text)
        stream.flush()
    except BrokenPipeError:
        _to_devnull(stream)
    except OSError as exc:
        _to_devnull(stream)
        if exc.errno != errno.EIO:  # EIO: the terminal was closed (hung up)
            _say_lost(stream, exc)


def lost_output() -> str | None:
    """Why some output could not be written (None if it all was)."""
    return _lost[0] if _lost else None


def ensure_standard_streams() -> None:
    """Open /dev/null on stdin, stdout and stderr if they were closed when we started."""
    closed = [name for name in ("stdin", "stdout", "stderr") if getattr(sys, name) is None]
    for name in closed:
        mode = "r" if name == "stdin" else "w"
        setattr(sys, name, open(os.devnull, mode, encoding="utf-8"))  # noqa: SIM115
    if "stdout" in closed:
        write(sys.stderr, "Warning: standard output is closed; what is printed there is "
                          "discarded\n")


def _say_lost(stream: IO[str], exc: OSError) -> None:
    which = ("standard output" if stream is sys.stdout else
             "standard error" if stream is sys.stderr else "the output")
    _lost.append(f"cannot write to {which}: {exc.strerror or exc}")
    if stream is not sys.stderr:
        try:
            sys.stderr.write(f"Error: {_lost[-1]}; the rest of it is discarded\n")
            sys.stderr.flush()
        except OSError:
            pass


def _to_devnull(stream: IO[str]) -> None:
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, stream.fileno())
    finally:
        os.close(devnull)
