"""The team backend: the state of many stacks in one PostgreSQL database.

Owns the tables (``provisioner_*``, every row keyed by stack; the schema
version and migrations in ``provisioner_schema``), the connections, and the
translation of psycopg errors into ``StateError`` (here and nowhere else). The
stack lock, a session advisory lock the server drops when the session ends, is
``pg_lock.AdvisoryLock``, mixed in.

The DSN may carry a password: it never leaves this object. Messages, hints
and ``repr`` name the server by host, port and database only.
"""

from __future__ import annotations

import threading
import uuid
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager, suppress
from typing import Any

import psycopg
from psycopg.rows import DictRow, dict_row

from provisioner.core.address import Address
from provisioner.core.digests import DIGEST_KEY, new_digest_key
from provisioner.errors import StateError
from provisioner.state.pg_connection import (
    REACH_HINT,
    Connection,
    connect_options,
    hint,
    lost,
    parse_dsn,
    server_name,
)
from provisioner.state.pg_lock import AdvisoryLock
from provisioner.state.pg_schema import MIGRATIONS, SCHEMA_KEY, advisory_key
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
    RunRecord,
    SnapshotRecord,
    StateStore,
    now_iso,
    snapshot_order,
)

_BUG_HINT = "this is a bug in provisioner; please report it"

class PostgresStore(AdvisoryLock, StateStore):
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
            conn.execute("DELETE FROM provisioner_snapshots WHERE stack = %s AND address = %s",
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

    def record_snapshot(self, record: SnapshotRecord) -> None:
        with self._write() as conn:
            conn.execute(
                "INSERT INTO provisioner_snapshots VALUES (%s, %s, %s, %s, %s)"
                " ON CONFLICT (stack, address, name) DO UPDATE SET taken_at = EXCLUDED.taken_at,"
                " size = EXCLUDED.size",
                (self.stack, str(record.address), record.name, record.taken_at or now_iso(),
                 record.size))

    def forget_snapshot(self, address: Address, name: str) -> None:
        with self._write() as conn:
            conn.execute("DELETE FROM provisioner_snapshots WHERE stack = %s AND address = %s"
                         " AND name = %s", (self.stack, str(address), name))

    def snapshots(self) -> list[SnapshotRecord]:
        rows = self._rows("SELECT address, name, taken_at, size FROM provisioner_snapshots"
                          " WHERE stack = %s", (self.stack,))
        return snapshot_order(snapshot_from_row(row) for row in rows)

    def digest_key(self, adopt: bytes | None = None) -> bytes:
        with self._write() as conn:
            if adopt is not None:
                conn.execute("DELETE FROM provisioner_secrets WHERE stack = %s AND name = %s",
                             (self.stack, DIGEST_KEY))
            conn.execute("INSERT INTO provisioner_secrets VALUES (%s, %s, %s) "
                         "ON CONFLICT DO NOTHING", (self.stack, DIGEST_KEY,
                                                    adopt.hex() if adopt else new_digest_key()))
            row = conn.execute("SELECT value FROM provisioner_secrets WHERE stack = %s AND "
                               "name = %s", (self.stack, DIGEST_KEY)).fetchone()
        if row is None:  # inserted just above, in this transaction
            raise StateError("the state's digest key could not be stored", hint=_BUG_HINT)
        return bytes.fromhex(row["value"])

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
        return {row["name"]: loads_value(row["value"]) for row in rows}

    def close(self) -> None:
        with self._mutex:
            self._closed = True
            if self._conn is not None:
                with suppress(psycopg.Error):  # must not hide the error that led here
                    self._conn.close()
                self._conn = None
