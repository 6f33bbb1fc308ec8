"""The state store interface: what the hypervisor cannot hold.

The hypervisor is the source of truth for what exists. The store keeps the
rest: the lock (one writer per stack), the operation journal (intent before
every provider call, outcome after), the last applied spec of each address
(for three-way diffs), outputs, and the history of runs. It never holds a
secret: specs are stored through ``to_plain`` (blobs as digests).

Backends (SQLite now, PostgreSQL later) implement ``StateStore`` and pass the
same test suite (tests/unit/test_state_store.py).
"""

from __future__ import annotations

import getpass
import os
import uuid
from abc import ABC, abstractmethod
from collections.abc import Iterable, Mapping
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from provisioner.core.address import Address


def now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


@dataclass(frozen=True)
class AppliedRecord:
    """What the last successful create or update of an address applied."""

    address: Address
    provider: str
    spec: Mapping[str, Any]
    """As ``to_plain`` stores it: JSON values, blobs as {label, digest}."""
    deps: tuple[Address, ...] = ()
    live_id: str = ""
    name: str = ""
    """The object's name on the hypervisor."""
    attributes: Mapping[str, Any] = field(default_factory=dict)
    prevent_destroy: bool = False
    applied_at: str = ""


@dataclass(frozen=True)
class LockHolder:
    """Who holds the lock, to name them when another run has to wait."""

    id: str
    host: str
    pid: int
    user: str
    operation: str
    since: str

    def describe(self) -> str:
        return (f"{self.operation} by {self.user}@{self.host} (pid {self.pid}) "
                f"since {self.since}, lock id {self.id}")


def new_holder(operation: str) -> LockHolder:
    """This process as the holder of a lock taken for ``operation``."""
    try:
        user = getpass.getuser()
    except (KeyError, OSError):  # no login name and no passwd entry (some containers)
        user = str(os.getuid())
    return LockHolder(id=uuid.uuid4().hex, host=_host_name(), pid=os.getpid(),
                      user=user, operation=operation, since=now_iso())


def _host_name() -> str:
    """The host's name, as ``socket.gethostname()`` gives it: from ``uname`` where
    there is one, without importing socket (issue 19)."""
    if hasattr(os, "uname"):
        return os.uname().nodename
    import socket

    return socket.gethostname()


class JournalStatus(StrEnum):
    PENDING = "pending"
    """Intent written, outcome not: the run died during the call."""
    OK = "ok"
    FAILED = "failed"
    RESOLVED = "resolved"
    """Was pending; a later run checked the hypervisor and settled it."""


@dataclass(frozen=True)
class JournalEntry:
    id: int
    run_id: str
    address: str
    operation: str
    status: JournalStatus
    detail: str
    started_at: str
    finished_at: str = ""


@dataclass(frozen=True)
class RunRecord:
    id: str
    command: str
    started_at: str
    finished_at: str = ""
    status: str = "running"
    summary: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class SnapshotRecord:
    """A snapshot taken with ``provisioner snapshot create``: which guest, its name, when.
    The hypervisor holds the snapshot itself; this record is what the state knows."""

    address: Address
    name: str
    taken_at: str = ""
    """ISO 8601 UTC; empty means now (set by the store)."""
    size: int | None = None
    """Bytes it holds on the hypervisor's storage when it was taken, if the provider
    said (the plan notes it; the space grows as the guest writes on some storage)."""


def snapshot_order(records: Iterable[SnapshotRecord]) -> list[SnapshotRecord]:
    """By address, then oldest first (the same in every backend, whatever its collation)."""
    return sorted(records, key=lambda r: (str(r.address), r.taken_at, r.name))


class StateStore(ABC):
    """One stack's state. Every write is atomic; reads see committed writes only."""

    @abstractmethod
    def lock(self, operation: str, timeout: float) -> AbstractContextManager[LockHolder]:
        """Hold the stack's lock for the block. Waits up to ``timeout`` seconds, then
        raises LockError naming the holder. Released if the holder process dies."""

    @abstractmethod
    def lock_holder(self) -> LockHolder | None:
        """The current holder, or None."""

    @abstractmethod
    def applied(self) -> dict[Address, AppliedRecord]:
        """Every address's last applied record."""

    @abstractmethod
    def record_applied(self, record: AppliedRecord) -> None: ...

    @abstractmethod
    def forget(self, address: Address) -> None:
        """Drop an address's record (its object was deleted). Absent is fine."""

    @abstractmethod
    def journal_intent(self, run_id: str, address: str, operation: str, detail: str = "") -> int:
        """Write, before a provider call, that it is about to happen; returns the entry id."""

    @abstractmethod
    def journal_outcome(self, entry_id: int, status: JournalStatus, detail: str = "") -> None:
        """Write, after the call, how it ended."""

    @abstractmethod
    def journal(self, run_id: str | None = None) -> list[JournalEntry]:
        """Entries of one run (or all), oldest first."""

    @abstractmethod
    def unresolved(self) -> list[JournalEntry]:
        """Entries still pending: calls whose outcome was never written."""

    @abstractmethod
    def resolve(self, entry_id: int, detail: str) -> None:
        """Settle a pending entry (RESOLVED) once the hypervisor showed what happened."""

    @abstractmethod
    def force_unlock(self, lock_id: str) -> str:
        """Release the lock ``lock_id`` held by a run that can no longer release it;
        returns what was done. Raises LockError when that is not possible (the holder
        is alive, or the id is not the current lock's)."""

    @abstractmethod
    def begin_run(self, command: str) -> str:
        """Start a history entry; returns the run id."""

    @abstractmethod
    def finish_run(self, run_id: str, status: str, summary: Mapping[str, Any]) -> None: ...

    @abstractmethod
    def runs(self, limit: int = 20) -> list[RunRecord]:
        """Most recent runs first."""

    @abstractmethod
    def record_snapshot(self, record: SnapshotRecord) -> None:
        """Record a snapshot taken; one of the same address and name is replaced."""

    @abstractmethod
    def forget_snapshot(self, address: Address, name: str) -> None:
        """Drop a snapshot's record (it was deleted). Absent is fine."""

    @abstractmethod
    def snapshots(self) -> list[SnapshotRecord]:
        """Every recorded snapshot, by address, then oldest first. ``forget`` of an
        address drops its snapshots' records too (they go with the guest)."""

    @abstractmethod
    def digest_key(self, adopt: bytes | None = None) -> bytes:
        """The state's secret for keyed digests (``core/digests.py``): made once, on
        first use, and kept with the state (never printed, never in a plan file), so
        a digest in a plan, a state record or a domain's metadata confirms no guess of
        the content it was made from. The same for every run on this state.
        ``adopt``: keep this key instead (``state migrate`` carries the key over)."""

    @abstractmethod
    def set_outputs(self, outputs: Mapping[str, Any]) -> None: ...

    @abstractmethod
    def outputs(self) -> dict[str, Any]: ...

    @abstractmethod
    def close(self) -> None: ...

    def __enter__(self) -> StateStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

