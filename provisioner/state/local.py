"""The default state backend: one SQLite file in the stack's directory.

Owns the file's layout (schema version and migrations), the translation of
sqlite3 errors into ``StateError`` (here and nowhere else), and the stack
lock: an ``flock`` on the sidecar ``<db>.lock``, which the kernel releases
when the holding process dies, so a killed run never leaves a stuck lock.
The lock file also names its holder, for the message of whoever must wait.
"""

from __future__ import annotations

import fcntl
import json
import os
import sqlite3
import stat
import threading
import time
import uuid
from collections.abc import Iterator, Mapping, Sequence
from contextlib import AbstractContextManager, contextmanager, suppress
from dataclasses import asdict
from pathlib import Path
from typing import Any

from provisioner.core.address import Address
from provisioner.core.digests import DIGEST_KEY, new_digest_key
from provisioner.errors import LockError, StateError
from provisioner.state.backends import STATE_DIRECTORY
from provisioner.state.rows import (
    dumps,
    entry_from_row,
    loads_value,
    records_from_rows,
    run_from_row,
    snapshot_from_row,
)
from provisioner.state.store import (
    AppliedRecord,
    JournalEntry,
    JournalStatus,
    LockHolder,
    RunRecord,
    SnapshotRecord,
    StateStore,
    new_holder,
    now_iso,
    snapshot_order,
)

MIGRATIONS: tuple[tuple[str, ...], ...] = (
    (  # 1: the initial layout
        """CREATE TABLE applied (
            address TEXT PRIMARY KEY, provider TEXT NOT NULL, spec TEXT NOT NULL,
            deps TEXT NOT NULL, live_id TEXT NOT NULL, name TEXT NOT NULL,
            attributes TEXT NOT NULL, prevent_destroy INTEGER NOT NULL,
            applied_at TEXT NOT NULL)""",
        """CREATE TABLE journal (
            id INTEGER PRIMARY KEY AUTOINCREMENT, run_id TEXT NOT NULL,
            address TEXT NOT NULL, operation TEXT NOT NULL, status TEXT NOT NULL,
            detail TEXT NOT NULL, started_at TEXT NOT NULL, finished_at TEXT NOT NULL)""",
        "CREATE INDEX journal_status ON journal (status)",
        "CREATE INDEX journal_run ON journal (run_id)",
        """CREATE TABLE runs (
            id TEXT PRIMARY KEY, command TEXT NOT NULL, started_at TEXT NOT NULL,
            finished_at TEXT NOT NULL, status TEXT NOT NULL, summary TEXT NOT NULL)""",
        "CREATE TABLE outputs (name TEXT PRIMARY KEY, value TEXT NOT NULL)",
        "CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)",
    ),
    (  # 2: snapshots taken of guests
        """CREATE TABLE snapshots (
            address TEXT NOT NULL, name TEXT NOT NULL, taken_at TEXT NOT NULL,
            PRIMARY KEY (address, name))""",
    ),
    (  # 3: what a snapshot holds, when the provider says
        "ALTER TABLE snapshots ADD COLUMN size INTEGER",
    ),
)
"""Applied in order, each in one transaction with its version bump; append, never edit."""

_BUSY_TIMEOUT = 10.0
_POLL_INTERVAL = 0.1
_UNLOCK_HINT = ("wait for that run to finish; if it died, the lock was released with it; "
                "`provisioner force-unlock ID` exists for stuck locks")


def _hint(exc: BaseException) -> str:
    text = str(exc).lower()
    if "locked" in text or "busy" in text:
        return "another process is writing the state file; retry when it is done"
    if "not a database" in text or "malformed" in text:
        return ("the file is damaged or is not a provisioner state file; restore it from a "
                "backup or move it aside (the hypervisors still hold what exists)")
    return "check that the file and its directory exist, are yours and the disk is not full"


@contextmanager
def _translated(path: Path) -> Iterator[None]:
    """The one place sqlite3 and file errors become StateError."""
    try:
        yield
    except (sqlite3.Error, OSError) as exc:
        raise StateError(f"state {path}: {exc}", hint=_hint(exc)) from exc


class SQLiteStore(StateStore):
    """State in a SQLite file (WAL, synchronous=FULL); safe to share between threads."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._mutex = threading.Lock()
        self._lock = _FileLock(path.with_name(path.name + ".lock"))
        with _translated(path):
            _refuse_links(path)
            path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
            if not os.path.lexists(path):
                self._create(path)
            if path.stat().st_size == 0:
                raise StateError(
                    f"state {path}: the file is empty, and a state file never is",
                    hint="restore it from a backup; if it is not a state, pass another "
                         "--state or remove it (an empty file is not taken for a new state: "
                         "emptying a state must not erase what it protects)")
            self._conn = sqlite3.connect(path, timeout=_BUSY_TIMEOUT, isolation_level=None,
                                         check_same_thread=False)
        try:
            with _translated(path):
                _check_ours(self._conn, path)  # before anything writes to it
                _private(path, 0o600)
                if path.parent.name == STATE_DIRECTORY:
                    _private(path.parent, 0o700)
                _configure(self._conn)
            self._migrate()
        except BaseException:
            self._conn.close()
            raise

    def _create(self, path: Path) -> None:
        """A new state file, made whole (schema and all) under a temporary name, then
        linked into place: a file found at ``path`` is always one made whole."""
        # as tempfile.mkstemp (0600, a new name), without importing tempfile, shutil and
        # random: 4 ms of a first apply (issue 19)
        name = str(path.parent / f".{path.name}.{uuid.uuid4().hex}.new")
        os.close(os.open(name, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
        temporary = Path(name)
        try:
            self._conn = sqlite3.connect(temporary, timeout=_BUSY_TIMEOUT,
                                         isolation_level=None, check_same_thread=False)
            try:
                _configure(self._conn)
                self._migrate()
            finally:
                self._conn.close()
            with suppress(FileExistsError):  # another run made it meanwhile: use theirs
                os.link(temporary, path)
        finally:
            for leftover in (temporary, Path(f"{name}-wal"), Path(f"{name}-shm")):
                leftover.unlink(missing_ok=True)

    @contextmanager
    def _write(self) -> Iterator[sqlite3.Connection]:
        """One transaction: committed if the block ends normally, rolled back if not."""
        with self._mutex, _translated(self.path):
            self._conn.execute("BEGIN IMMEDIATE")
            try:
                yield self._conn
                self._conn.execute("COMMIT")
            except BaseException:
                if self._conn.in_transaction:
                    self._conn.execute("ROLLBACK")
                raise

    def _rows(self, sql: str, params: Sequence[Any] = ()) -> list[sqlite3.Row]:
        with self._mutex, _translated(self.path):
            return self._conn.execute(sql, params).fetchall()

    def _migrate(self) -> None:
        with self._write() as conn:
            conn.execute("CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)")
            current = conn.execute("SELECT max(version) FROM schema_version").fetchone()[0] or 0
            if current > len(MIGRATIONS):
                raise StateError(
                    f"state {self.path}: schema version {current} is newer than this "
                    f"provisioner knows ({len(MIGRATIONS)})",
                    hint="upgrade provisioner to the version that last wrote this state")
            for version in range(current + 1, len(MIGRATIONS) + 1):
                for statement in MIGRATIONS[version - 1]:
                    conn.execute(statement)
                conn.execute("DELETE FROM schema_version")
                conn.execute("INSERT INTO schema_version (version) VALUES (?)", (version,))

    def _changed_one(self, cursor: sqlite3.Cursor, what: str) -> None:
        if cursor.rowcount != 1:
            raise StateError(f"state {self.path}: no {what}",
                             hint="this is a bug in provisioner; please report it")

    def lock(self, operation: str, timeout: float) -> AbstractContextManager[LockHolder]:
        return self._lock.hold(operation, timeout)

    def lock_holder(self) -> LockHolder | None:
        return self._lock.holder()

    def applied(self) -> dict[Address, AppliedRecord]:
        rows = self._rows("SELECT * FROM applied ORDER BY address")
        return records_from_rows(rows)

    def record_applied(self, record: AppliedRecord) -> None:
        values = (str(record.address), record.provider, dumps(record.spec),
                  dumps([str(dep) for dep in record.deps]), record.live_id, record.name,
                  dumps(record.attributes), int(record.prevent_destroy),
                  record.applied_at or now_iso())
        with self._write() as conn:
            conn.execute("INSERT OR REPLACE INTO applied VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                         values)

    def forget(self, address: Address) -> None:
        with self._write() as conn:
            conn.execute("DELETE FROM applied WHERE address = ?", (str(address),))
            conn.execute("DELETE FROM snapshots WHERE address = ?", (str(address),))

    def journal_intent(self, run_id: str, address: str, operation: str, detail: str = "") -> int:
        with self._write() as conn:
            cursor = conn.execute(
                "INSERT INTO journal (run_id, address, operation, status, detail, started_at,"
                " finished_at) VALUES (?, ?, ?, ?, ?, ?, '')",
                (run_id, address, operation, JournalStatus.PENDING.value, detail, now_iso()))
            assert cursor.lastrowid is not None  # always set after an INSERT
            return cursor.lastrowid

    def journal_outcome(self, entry_id: int, status: JournalStatus, detail: str = "") -> None:
        with self._write() as conn:
            cursor = conn.execute(
                "UPDATE journal SET status = ?, detail = coalesce(nullif(?, ''), detail),"
                " finished_at = ? WHERE id = ?",
                (JournalStatus(status).value, detail, now_iso(), entry_id))
            self._changed_one(cursor, f"journal entry {entry_id}")

    def journal(self, run_id: str | None = None) -> list[JournalEntry]:
        if run_id is None:
            rows = self._rows("SELECT * FROM journal ORDER BY id")
        else:
            rows = self._rows("SELECT * FROM journal WHERE run_id = ? ORDER BY id", (run_id,))
        return [entry_from_row(row) for row in rows]

    def unresolved(self) -> list[JournalEntry]:
        rows = self._rows("SELECT * FROM journal WHERE status = ? ORDER BY id",
                          (JournalStatus.PENDING.value,))
        return [entry_from_row(row) for row in rows]

    def resolve(self, entry_id: int, detail: str) -> None:
        with self._write() as db:
            cursor = db.execute(
                "UPDATE journal SET status = ?, detail = ?, finished_at = ? "
                "WHERE id = ? AND status = ?",
                (JournalStatus.RESOLVED.value, detail, now_iso(), entry_id,
                 JournalStatus.PENDING.value))
            self._changed_one(cursor, f"pending journal entry {entry_id}")

    def force_unlock(self, lock_id: str) -> str:
        """A local lock is an ``flock``: the kernel drops it when its holder dies, so
        only a live holder can keep it, and that one is never broken from outside."""
        holder = self.lock_holder()
        if holder is None:
            return "the stack is not locked; nothing to do"
        if holder.id != lock_id:
            raise LockError(f"lock {lock_id} is not the current lock ({holder.describe()})",
                            hint="pass the id `provisioner show` or the lock error names")
        raise LockError(
            f"the lock is held by a live process: {holder.describe()}",
            hint=f"a local lock is released when its process ends: stop pid {holder.pid} "
                 f"on {holder.host}, or wait for it")

    def begin_run(self, command: str) -> str:
        run_id = uuid.uuid4().hex
        with self._write() as conn:
            conn.execute("INSERT INTO runs VALUES (?, ?, ?, '', 'running', '{}')",
                         (run_id, command, now_iso()))
        return run_id

    def finish_run(self, run_id: str, status: str, summary: Mapping[str, Any]) -> None:
        with self._write() as conn:
            cursor = conn.execute(
                "UPDATE runs SET finished_at = ?, status = ?, summary = ? WHERE id = ?",
                (now_iso(), status, dumps(summary), run_id))
            self._changed_one(cursor, f"run {run_id}")

    def runs(self, limit: int = 20) -> list[RunRecord]:
        # started_at has one-second resolution; rowid breaks ties by insertion order.
        rows = self._rows("SELECT * FROM runs ORDER BY started_at DESC, rowid DESC LIMIT ?",
                          (limit,))
        return [run_from_row(row) for row in rows]

    def record_snapshot(self, record: SnapshotRecord) -> None:
        with self._write() as conn:
            conn.execute("INSERT OR REPLACE INTO snapshots VALUES (?, ?, ?, ?)",
                         (str(record.address), record.name, record.taken_at or now_iso(),
                          record.size))

    def forget_snapshot(self, address: Address, name: str) -> None:
        with self._write() as conn:
            conn.execute("DELETE FROM snapshots WHERE address = ? AND name = ?",
                         (str(address), name))

    def snapshots(self) -> list[SnapshotRecord]:
        rows = self._rows("SELECT address, name, taken_at, size FROM snapshots")
        return snapshot_order(snapshot_from_row(row) for row in rows)

    def digest_key(self, adopt: bytes | None = None) -> bytes:
        with self._write() as conn:
            if adopt is not None:
                conn.execute("DELETE FROM meta WHERE key = ?", (DIGEST_KEY,))
            conn.execute("INSERT OR IGNORE INTO meta (key, value) VALUES (?, ?)",
                         (DIGEST_KEY, adopt.hex() if adopt is not None else new_digest_key()))
            row = conn.execute("SELECT value FROM meta WHERE key = ?", (DIGEST_KEY,)).fetchone()
        return bytes.fromhex(row[0])

    def set_outputs(self, outputs: Mapping[str, Any]) -> None:
        with self._write() as conn:
            conn.execute("DELETE FROM outputs")
            conn.executemany("INSERT INTO outputs VALUES (?, ?)",
                             [(str(name), dumps(value)) for name, value in outputs.items()])

    def outputs(self) -> dict[str, Any]:
        rows = self._rows("SELECT name, value FROM outputs ORDER BY name")
        return {row["name"]: loads_value(row["value"]) for row in rows}

    def close(self) -> None:
        with self._mutex, suppress(sqlite3.Error):  # must not hide the error that led here
            self._conn.close()


def _configure(conn: sqlite3.Connection) -> None:
    conn.row_factory = sqlite3.Row
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=FULL")


def _refuse_links(path: Path) -> None:
    """The state file and its -wal, -shm and .lock files are never symbolic links:
    SQLite and the lock would write through one, to whatever it points at."""
    for member in (path, *(path.with_name(path.name + suffix)
                           for suffix in ("-wal", "-shm", ".lock"))):
        if member.is_symlink():
            raise StateError(f"state {path}: {member.name} is a symbolic link",
                             hint="a state file and its -wal, -shm and .lock files are never "
                                  "links; remove the link, or pass the real file with --state")


def _private(path: Path, mode: int) -> None:
    """Make ``path`` (not a link) readable by its owner only, whatever mode it had."""
    found = path.lstat()
    if found.st_mode & 0o777 & ~mode and found.st_uid == os.geteuid() \
            and not stat.S_ISLNK(found.st_mode):
        path.chmod(mode)


def _check_ours(conn: sqlite3.Connection, path: Path) -> None:
    """Refuse an SQLite database that provisioner did not make: it is never extended."""
    tables = sorted(row[0] for row in conn.execute(
        "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'"))
    if "schema_version" not in tables:
        listed = ", ".join(tables[:5]) + (", ..." if len(tables) > 5 else "") or "none"
        raise StateError(f"state {path}: an SQLite database that is not a provisioner state "
                         f"(its tables: {listed})",
                         hint="pass the stack's own state with --state; provisioner does not "
                              "add its tables to a database it did not make")


class _FileLock:
    """An exclusive flock on a sidecar file that holds, while locked, the holder as JSON.

    flock belongs to the open file description: a second ``hold`` in the same
    process waits like any other process would (no re-entrancy).
    """

    def __init__(self, path: Path) -> None:
        self.path = path

    def _open(self) -> int:
        with _translated(self.path):
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW, 0o600)
            found = os.fstat(fd)
            if found.st_mode & 0o077 and found.st_uid == os.geteuid():
                os.fchmod(fd, 0o600)  # it names the holder: private, as the state
            return fd

    @contextmanager
    def hold(self, operation: str, timeout: float) -> Iterator[LockHolder]:
        fd = self._open()
        try:
            self._acquire(fd, timeout)
            try:
                holder = new_holder(operation)
                with _translated(self.path):
                    os.pwrite(fd, json.dumps(asdict(holder)).encode(), 0)
                yield holder
            finally:
                with suppress(OSError):  # must not hide the block's own error
                    os.ftruncate(fd, 0)
                fcntl.flock(fd, fcntl.LOCK_UN)
        finally:
            os.close(fd)

    def _acquire(self, fd: int, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                return
            except BlockingIOError:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise self._locked_error(fd) from None
                time.sleep(min(_POLL_INTERVAL, remaining))

    def _locked_error(self, fd: int) -> LockError:
        holder = _read_holder(fd)
        who = f": {holder.describe()}" if holder else " by another process"
        return LockError(f"the stack is locked{who}", hint=_UNLOCK_HINT)

    def holder(self) -> LockHolder | None:
        """The holder, None if free; an ``unknown`` holder if held but not yet described."""
        fd = self._open()
        try:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                return _read_holder(fd) or LockHolder("", "unknown", 0, "unknown", "unknown", "")
            fcntl.flock(fd, fcntl.LOCK_UN)
            return None
        finally:
            os.close(fd)


def _read_holder(fd: int) -> LockHolder | None:
    """The holder written in the lock file, None if absent or half-written."""
    try:
        data = json.loads(os.pread(fd, 64 * 1024, 0))
        return LockHolder(id=str(data["id"]), host=str(data["host"]), pid=int(data["pid"]),
                          user=str(data["user"]), operation=str(data["operation"]),
                          since=str(data["since"]))
    except (OSError, ValueError, TypeError, KeyError):
        return None
