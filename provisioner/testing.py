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

KILL_VARIABLE = "PROVISIONER_TEST_KILL_AT"


def kill_point(name: str) -> None:
    """SIGKILL this process here if the test variable names this point."""
    pattern = os.environ.get(KILL_VARIABLE)
    if pattern and fnmatch.fnmatchcase(name, pattern):
        os.kill(os.getpid(), signal.SIGKILL)
