"""Snapshots of guests: what a provider reports about one, and the names allowed.

A snapshot belongs to its guest on the hypervisor (deleting the guest deletes its
snapshots); the hypervisor is the source of truth for which exist. Names are
checked here, once, before any provider sees them: a name reaches hypervisor APIs,
XML documents and command lines, so it is kept to a safe alphabet.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime

from provisioner.errors import UsageError

SNAPSHOT_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,62}")
"""A letter or digit, then up to 62 letters, digits, ``_``, ``.`` or ``-``."""


@dataclass(frozen=True)
class SnapshotInfo:
    """One snapshot of one guest, as the hypervisor reports it."""

    name: str
    created: datetime | None
    """When it was taken (timezone-aware, UTC), None if the hypervisor does not say."""
    size: int | None = None
    """Bytes it holds on the hypervisor's storage, None if unknown."""
    memory: bool = False
    """Whether it holds the running state (memory): reverting to it gives a running
    guest; otherwise the guest is stopped after a revert."""

    @property
    def power_after_revert(self) -> str:
        return "running" if self.memory else "stopped"


def check_snapshot_name(name: str) -> str:
    """``name`` if it is a valid snapshot name, else UsageError saying what is allowed."""
    if SNAPSHOT_NAME.fullmatch(name):
        return name
    raise UsageError(f"{name!r} is not a valid snapshot name",
                     hint="use 1 to 63 letters, digits, '_', '.' or '-', starting with a "
                          "letter or digit (such as before-upgrade)")
