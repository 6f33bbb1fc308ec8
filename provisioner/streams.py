"""Writing to the terminal or a pipe whose reader may go away.

``provisioner plan | head`` closes the pipe while provisioner still writes. A tool
that dies there is fine for a plan, but an apply must not stop half-way because its
log reader did: a step would be left started and not recorded. So a closed output
(or a terminal that was closed) is sent to /dev/null from then on, and the command
finishes what it started.
"""

from __future__ import annotations

import errno
import os
from typing import IO


def write(stream: IO[str], text: str) -> None:
    """Write ``text`` to ``stream`` and flush; if the reader has gone, write nothing
    more to it (it is pointed at /dev/null) and carry on."""
    try:
        stream.write(text)
        stream.flush()
    except BrokenPipeError:
        _to_devnull(stream)
    except OSError as exc:
        if exc.errno != errno.EIO:  # EIO: the terminal was closed (hung up)
            raise
        _to_devnull(stream)


def _to_devnull(stream: IO[str]) -> None:
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, stream.fileno())
    finally:
        os.close(devnull)
