"""The team backend: the state of many stacks in one PostgreSQL database.

Owns the tables (``provisioner_*``, every row keyed by stack; the schema
version and migrations in ``provisioner_schema``), the translation of psycopg
errors into ``StateError`` (here and nowhere else), and the stack lock: a
session advisory lock held on a connection of its own for the whole ``with``
block. The server drops it when that session ends, so a run that died (process
killed, host gone, connection cut) never leaves a stuck lock. The holder's row
in ``provisioner_locks`` names it for whoever must wait; the row is believed
only while its session really holds the lock (``pg_locks``).

The DSN may carry a password: it never leaves this object. Messages, hints
and ``repr`` name the server by host, port and database only.
"""

from __future__ import annotations

import json
import threading
import time
import uuid
from collections.abc import Iterator, Mapping, Sequence
from contextlib import AbstractContextManager, contextmanager, suppress
from typing import Any

import psycopg
from psycopg import errors as pg_errors
from psycopg.rows import DictRow, dict_row

from provisioner.errors import LockError, StateError
from provisioner.stack.address import Address
from provisioner.state.pg_connection import (
    REACH_HINT,
    Connection,
    connect_options,
    hint,
    lost,
    parse_dsn,
    server_name,
)
from provisioner.state.pg_schema import HOLDER_SQL, MIGRATIONS, SCHEMA_KEY, advisory_key
from provisioner.state.rows import dumps, entry_from_row, records_from_rows, run_from_row
from provisioner.state.store import (
    AppliedRecord,
    JournalEntry,
    JournalStatus,
    LockHolder,
    RunRecord,
    StateStore,
    new_holder,
    now_iso,
)

_POLL_INTERVAL = 0.1
_TERMINATE_WAIT = 5.0
_UNLOCK_HINT = ("wait for that run to finish; if it died, its session on the state server "
                "ended and the lock with it; `provisioner force-unlock ID` ends the session "
                "of a stuck holder")
_BUG_HINT = "this is a bug in provisioner; please report it"

class PostgresStore(StateStore):
    """One stack's state in a PostgreSQL database shared with other stacks.

    Safe to share between threads: one connection, used by one thread at a
    time. A connection found lost is replaced on the next call; a read is
    retried once on the new one, a write never (it raises: only the caller
    knows whether repeating it is right). Each ``lock`` opens a connection of
    its own, since advisory locks belong to a session (and nest within one).
    """

    def __init__(self, dsn: str, stack: str) -> None:
        self.stack = stack
        self._dsn = dsn
        params = parse_dsn(dsn)
        self.server = server_name(params)
        """host:port/database, for messages: never the DSN, which may hold a password."""
        self._password = str(params.get("password") or "")
        self._options = connect_options(params, stack)
        self._lock_key = advisory_key(f"provisioner:{stack}")
        self._mutex = threading.Lock()
        self._conn: Connection | None = None
        self._closed = False
        self._fence: int | None = None
        """While this store holds the lock: the backend pid of the lock's session."""
        try:
            self._migrate()
        except BaseException:
            self.close()
            raise

    def __repr__(self) -> str:
        return f"PostgresStore({self.server!r}, stack={self.stack!r})"

    # ---------------------------------------------------------------- plumbing

    def _error(self, exc: psycopg.Error, lost: bool = False, doing: str = "") -> StateError:
        """The one place psycopg errors become StateError (password scrubbed)."""
        text = " ".join(str(exc).split()) or type(exc).__name__
        if self._password:
            text = text.replace(self._password, "***")
        if lost:
            text = f"the connection was lost{doing}: {text}"
        return StateError(f"state server {self.server} (stack {self.stack}): {text}",
                          hint=hint(exc, lost))

    @contextmanager
    def _translated(self, conn: Connection | None = None, doing: str = "") -> Iterator[None]:
        try:
            yield
        except psycopg.Error as exc:
            raise self._error(exc, lost(conn), doing) from exc

    def _connect(self, purpose: str = "") -> Connection:
        if self._closed:
            raise StateError(f"state server {self.server} (stack {self.stack}): the store "
                             "is closed", hint=_BUG_HINT)
        options = dict(self._options)
        if purpose and "application_name" in options:
            options["application_name"] = f"provisioner {self.stack} {purpose}"[:63]
        try:
            return psycopg.connect(self._dsn, autocommit=True, row_factory=dict_row,
                                   **options)
        except psycopg.Error as exc:
            error = self._error(exc)
            error.hint = REACH_HINT
            raise error from exc

    def _connection(self) -> Connection:
        """The shared connection, replaced if lost (the caller holds the mutex)."""
        if self._conn is None or lost(self._conn):
            if self._conn is not None:
                self._conn.close()
            self._conn = None
            self._conn = self._connect()
        return self._conn

    def _rows(self, sql: str, params: Sequence[Any] | Mapping[str, Any] = ()) -> list[DictRow]:
        with self._mutex:
            conn = self._connection()
            try:
                return conn.execute(sql, params).fetchall()
            except psycopg.Error as exc:
                if not lost(conn):
                    raise self._error(exc) from exc
            # The connection was lost: a read is safe to run again on a new one.
            conn = self._connection()
            with self._translated(conn):
                return conn.execute(sql, params).fetchall()

    @contextmanager
    def _write(self) -> Iterator[Connection]:
        """One transaction: committed if the block ends normally, rolled back if not.

        Never retried. A connection lost before COMMIT means the server rolled
        the transaction back; lost during COMMIT, nobody here knows: both raise.
        """
        with self._mutex:
            conn = self._connection()
            with self._translated(conn, ": nothing of this write was saved"):
                conn.execute("BEGIN")
                try:
                    self._check_fence(conn)
                    yield conn
                except BaseException:
                    if not lost(conn):
                        with suppress(psycopg.Error):  # must not hide the error that led here
                            conn.execute("ROLLBACK")
                    raise
            with self._translated(conn, " during COMMIT: this write may or may not be saved"):
                conn.execute("COMMIT")

    def _check_fence(self, conn: Connection) -> None:
        """While this store holds the lock, write only if its session still does: a
        force-unlocked or cut-off run must not go on writing beside the next one."""
        fence = self._fence
        if fence is None:
            return
        rows = conn.execute(HOLDER_SQL, self._key_params()).fetchall()
        if not rows or rows[0]["session"] != fence:
            raise LockError(
                f"state server {self.server}: the lock of stack {self.stack} was lost during "
                "this run (its session ended: force-unlock, server restart or network cut)",
                hint="nothing more was written; run `provisioner plan` to see where the stack "
                     "stands, then apply again")

    def _migrate(self) -> None:
        with self._write() as conn:
            # Two processes opening a new database at once: the second waits here.
            conn.execute("SELECT pg_advisory_xact_lock(%s)", (SCHEMA_KEY,))
            # Created only if missing: CREATE ... IF NOT EXISTS needs CREATE on the schema
            # even when the table exists, which a role with table grants only lacks.
            if conn.execute("SELECT to_regclass('provisioner_schema') IS NULL AS missing"
                            ).fetchall()[0]["missing"]:
                conn.execute("CREATE TABLE provisioner_schema (version INTEGER NOT NULL)")
            current = conn.execute("SELECT coalesce(max(version), 0) AS version "
                                   "FROM provisioner_schema").fetchall()[0]["version"]
            if current > len(MIGRATIONS):
                raise StateError(
                    f"state server {self.server}: schema version {current} is newer than this "
                    f"provisioner knows ({len(MIGRATIONS)})",
                    hint="upgrade provisioner to the version that last wrote this state")
            for version in range(current + 1, len(MIGRATIONS) + 1):
                for statement in MIGRATIONS[version - 1]:
                    conn.execute(statement)
                conn.execute("DELETE FROM provisioner_schema")
                conn.execute("INSERT INTO provisioner_schema (version) VALUES (%s)", (version,))

    def _changed_one(self, cursor: psycopg.Cursor[DictRow], what: str) -> None:
        if cursor.rowcount != 1:
            raise StateError(f"state server {self.server} (stack {self.stack}): no {what}",
                             hint=_BUG_HINT)

    def _key_params(self) -> dict[str, Any]:
        unsigned = self._lock_key & 0xFFFF_FFFF_FFFF_FFFF
        return {"stack": self.stack, "high": unsigned >> 32, "low": unsigned & 0xFFFF_FFFF}

    # ---------------------------------------------------------------- the lock

    def lock(self, operation: str, timeout: float) -> AbstractContextManager[LockHolder]:
        return self._hold(operation, timeout)

    @contextmanager
    def _hold(self, operation: str, timeout: float) -> Iterator[LockHolder]:
        conn = self._connect("lock")
        try:
            with self._translated(conn):
                self._acquire(conn, timeout)
                holder = new_holder(operation)
                backend_pid = conn.info.backend_pid
                conn.execute(
                    "INSERT INTO provisioner_locks VALUES (%s, %s, %s, %s, %s, %s, %s, %s) "
                    "ON CONFLICT (stack) DO UPDATE SET id = EXCLUDED.id, host = EXCLUDED.host,"
                    " pid = EXCLUDED.pid, user_name = EXCLUDED.user_name,"
                    " operation = EXCLUDED.operation, since = EXCLUDED.since,"
                    " backend_pid = EXCLUDED.backend_pid",
                    (self.stack, holder.id, holder.host, holder.pid, holder.user,
                     holder.operation, holder.since, backend_pid))
            self._fence = backend_pid
            try:
                yield holder
            finally:
                self._fence = None
                with suppress(psycopg.Error):  # must not hide the block's own error; closing
                    conn.execute(  # the session below releases the lock in any case
                        "DELETE FROM provisioner_locks WHERE stack = %s AND id = %s",
                        (self.stack, holder.id))
                    conn.execute("SELECT pg_advisory_unlock(%s)", (self._lock_key,))
        finally:
            conn.close()

    def _acquire(self, conn: Connection, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while True:
            row = conn.execute("SELECT pg_try_advisory_lock(%s) AS got",
                               (self._lock_key,)).fetchall()[0]
            if row["got"]:
                return
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise self._locked_error(conn)
            time.sleep(min(_POLL_INTERVAL, remaining))

    def _locked_error(self, conn: Connection) -> LockError:
        rows = conn.execute(HOLDER_SQL, self._key_params()).fetchall()
        if rows and rows[0]["id"] is not None:
            who = f": {_holder_from_row(rows[0]).describe()}"
        elif rows:
            who = f" by another session of the state server (backend pid {rows[0]['session']})"
        else:  # released between the try and this look
            who = " by another process"
        return LockError(f"the stack is locked{who}", hint=_UNLOCK_HINT)

    def lock_holder(self) -> LockHolder | None:
        """The holder, None if free; an ``unknown`` holder if held but not yet described."""
        rows = self._rows(HOLDER_SQL, self._key_params())
        if not rows:
            return None
        if rows[0]["id"] is None:
            return LockHolder("", "unknown", 0, "unknown", "unknown", "")
        return _holder_from_row(rows[0])

    def force_unlock(self, lock_id: str) -> str:
        """The lock is a session's: ending that session on the server
        (``pg_terminate_backend``) frees it, whether the run behind it is stuck, cut
        off or still going (its next state write then fails: see ``_check_fence``)."""
        rows = self._rows(HOLDER_SQL, self._key_params())
        if not rows:
            return "the stack is not locked; nothing to do"
        session = rows[0]["session"]
        if rows[0]["id"] != lock_id:
            current = (_holder_from_row(rows[0]).describe() if rows[0]["id"] is not None
                       else f"an undescribed holder, backend pid {session}")
            raise LockError(f"lock {lock_id} is not the current lock ({current})",
                            hint="pass the id `provisioner show` or the lock error names")
        holder = _holder_from_row(rows[0])
        self._terminate(session, lock_id)
        return (f"ended the state server session (backend pid {session}) that held the lock: "
                f"{holder.describe()}; the stack is unlocked")

    def _terminate(self, session: int, lock_id: str) -> None:
        with self._mutex:
            conn = self._connection()
            try:
                conn.execute("SELECT pg_terminate_backend(%s)", (session,))
                conn.execute("DELETE FROM provisioner_locks WHERE stack = %s AND id = %s",
                             (self.stack, lock_id))
            except pg_errors.InsufficientPrivilege as exc:
                raise LockError(
                    f"state server {self.server}: not allowed to end the session (backend "
                    f"pid {session}) that holds the lock of stack {self.stack}",
                    hint="the role needs to be the holder's or a member of pg_signal_backend; "
                         f"or a database admin runs SELECT pg_terminate_backend({session})"
                ) from exc
            except psycopg.Error as exc:
                raise self._error(exc, lost(conn)) from exc
        deadline = time.monotonic() + _TERMINATE_WAIT
        while any(row["session"] == session
                  for row in self._rows(HOLDER_SQL, self._key_params())):
            if time.monotonic() > deadline:
                raise LockError(
                    f"state server {self.server}: asked to end the session (backend pid "
                    f"{session}) holding the lock, but it still holds it after "
                    f"{_TERMINATE_WAIT:.0f} s", hint="run force-unlock again in a moment")
            time.sleep(_POLL_INTERVAL)

    # ---------------------------------------------------------------- records

    def applied(self) -> dict[Address, AppliedRecord]:
        rows = self._rows("SELECT * FROM provisioner_applied WHERE stack = %s ORDER BY address",
                          (self.stack,))
        return records_from_rows(rows)

    def record_applied(self, record: AppliedRecord) -> None:
        values = (self.stack, str(record.address), record.provider, dumps(record.spec),
                  dumps([str(dep) for dep in record.deps]), record.live_id, record.name,
                  dumps(record.attributes), record.prevent_destroy,
                  record.applied_at or now_iso())
        with self._write() as conn:
            conn.execute(
                "INSERT INTO provisioner_applied VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s)"
                " ON CONFLICT (stack, address) DO UPDATE SET provider = EXCLUDED.provider,"
                " spec = EXCLUDED.spec, deps = EXCLUDED.deps, live_id = EXCLUDED.live_id,"
                " name = EXCLUDED.name, attributes = EXCLUDED.attributes,"
                " prevent_destroy = EXCLUDED.prevent_destroy, applied_at = EXCLUDED.applied_at",
                values)

    def forget(self, address: Address) -> None:
        with self._write() as conn:
            conn.execute("DELETE FROM provisioner_applied WHERE stack = %s AND address = %s",
                         (self.stack, str(address)))

    def journal_intent(self, run_id: str, address: str, operation: str, detail: str = "") -> int:
        with self._write() as conn:
            rows = conn.execute(
                "INSERT INTO provisioner_journal (stack, run_id, address, operation, status,"
                " detail, started_at, finished_at) VALUES (%s, %s, %s, %s, %s, %s, %s, '')"
                " RETURNING id",
                (self.stack, run_id, address, operation, JournalStatus.PENDING.value, detail,
                 now_iso())).fetchall()
            entry_id: int = rows[0]["id"]
            return entry_id

    def journal_outcome(self, entry_id: int, status: JournalStatus, detail: str = "") -> None:
        with self._write() as conn:
            cursor = conn.execute(
                "UPDATE provisioner_journal SET status = %s,"
                " detail = coalesce(nullif(%s, ''), detail), finished_at = %s"
                " WHERE stack = %s AND id = %s",
                (JournalStatus(status).value, detail, now_iso(), self.stack, entry_id))
            self._changed_one(cursor, f"journal entry {entry_id}")

    def journal(self, run_id: str | None = None) -> list[JournalEntry]:
        if run_id is None:
            rows = self._rows("SELECT * FROM provisioner_journal WHERE stack = %s ORDER BY id",
                              (self.stack,))
        else:
            rows = self._rows("SELECT * FROM provisioner_journal WHERE stack = %s"
                              " AND run_id = %s ORDER BY id", (self.stack, run_id))
        return [entry_from_row(row) for row in rows]

    def unresolved(self) -> list[JournalEntry]:
        rows = self._rows("SELECT * FROM provisioner_journal WHERE stack = %s AND status = %s"
                          " ORDER BY id", (self.stack, JournalStatus.PENDING.value))
        return [entry_from_row(row) for row in rows]

    def resolve(self, entry_id: int, detail: str) -> None:
        with self._write() as conn:
            cursor = conn.execute(
                "UPDATE provisioner_journal SET status = %s, detail = %s, finished_at = %s"
                " WHERE stack = %s AND id = %s AND status = %s",
                (JournalStatus.RESOLVED.value, detail, now_iso(), self.stack, entry_id,
                 JournalStatus.PENDING.value))
            self._changed_one(cursor, f"pending journal entry {entry_id}")

    def begin_run(self, command: str) -> str:
        run_id = uuid.uuid4().hex
        with self._write() as conn:
            conn.execute("INSERT INTO provisioner_runs (stack, id, command, started_at,"
                         " finished_at, status, summary) VALUES (%s, %s, %s, %s, '', 'running',"
                         " '{}')", (self.stack, run_id, command, now_iso()))
        return run_id

    def finish_run(self, run_id: str, status: str, summary: Mapping[str, Any]) -> None:
        with self._write() as conn:
            cursor = conn.execute(
                "UPDATE provisioner_runs SET finished_at = %s, status = %s, summary = %s"
                " WHERE stack = %s AND id = %s",
                (now_iso(), status, dumps(summary), self.stack, run_id))
            self._changed_one(cursor, f"run {run_id}")

    def runs(self, limit: int = 20) -> list[RunRecord]:
        # started_at has one-second resolution; seq breaks ties by insertion order.
        rows = self._rows("SELECT * FROM provisioner_runs WHERE stack = %s"
                          " ORDER BY started_at DESC, seq DESC LIMIT %s", (self.stack, limit))
        return [run_from_row(row) for row in rows]

    def set_outputs(self, outputs: Mapping[str, Any]) -> None:
        with self._write() as conn:
            conn.execute("DELETE FROM provisioner_outputs WHERE stack = %s", (self.stack,))
            with conn.cursor() as cursor:
                cursor.executemany(
                    "INSERT INTO provisioner_outputs VALUES (%s, %s, %s)",
                    [(self.stack, str(name), dumps(value)) for name, value in outputs.items()])

    def outputs(self) -> dict[str, Any]:
        rows = self._rows("SELECT name, value FROM provisioner_outputs WHERE stack = %s"
                          " ORDER BY name", (self.stack,))
        return {row["name"]: json.loads(row["value"]) for row in rows}

    def close(self) -> None:
        with self._mutex:
            self._closed = True
            if self._conn is not None:
                with suppress(psycopg.Error):  # must not hide the error that led here
                    self._conn.close()
                self._conn = None


def _holder_from_row(row: DictRow) -> LockHolder:
    return LockHolder(id=row["id"], host=row["host"], pid=row["pid"], user=row["user_name"],
                      operation=row["operation"], since=row["since"])


