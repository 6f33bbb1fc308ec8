"""Failure injection for crash-recovery tests; inert unless its variable is set.

``PROVISIONER_TEST_KILL_AT=PATTERN`` makes the process SIGKILL itself at the
first named point matching PATTERN (shell-style: ``after:create:guests.*``).
Points are named ``before:OP:ADDRESS`` (intent journaled, provider not yet
called), ``after:OP:ADDRESS`` (provider call returned, outcome not yet
journaled), ``recorded:OP:ADDRESS`` (outcome and state written), and
provider-internal ones such as ``libvirt:disks-created:ADDRESS``. Tests use
it to prove that a run killed anywhere leaves nothing the next run cannot
finish. Never set it in production.
"""

from __future__ import annotations

import fnmatch
import os
import signal
import time
from pathlib import Path

KILL_VARIABLE = "PROVISIONER_TEST_KILL_AT"


def kill_point(name: str) -> None:
    """SIGKILL this process here if the test variable names this point (and pause
    here if the pause variable does)."""
    pattern = os.environ.get(KILL_VARIABLE)
    if pattern and fnmatch.fnmatchcase(name, pattern):
        os.kill(os.getpid(), signal.SIGKILL)
    pause_point(name)


PAUSE_VARIABLE = "PROVISIONER_TEST_PAUSE_AT"
PAUSE_FILE_VARIABLE = "PROVISIONER_TEST_PAUSE_FILE"
PAUSE_LIMIT = 120.0


def pause_point(name: str) -> None:
    """Test hook: at the first point matching ``PROVISIONER_TEST_PAUSE_AT``, create
    the file ``PROVISIONER_TEST_PAUSE_FILE`` and wait (at most two minutes) until the
    test removes it, so the test can break something (a database connection) at an
    exact moment of a run that then goes on."""
    pattern = os.environ.get(PAUSE_VARIABLE)
    marker = os.environ.get(PAUSE_FILE_VARIABLE)
    if not pattern or not marker or not fnmatch.fnmatchcase(name, pattern):
        return
    os.environ.pop(PAUSE_VARIABLE)  # once
    path = Path(marker)
    path.touch()
    deadline = time.monotonic() + PAUSE_LIMIT
    while path.exists() and time.monotonic() < deadline:
        time.sleep(0.05)
