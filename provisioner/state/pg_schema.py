"""The PostgreSQL backend's tables, their migrations, and the advisory-lock keys."""

from __future__ import annotations

import hashlib

MIGRATIONS: tuple[tuple[str, ...], ...] = (
    (  # 1: the initial layout
        """CREATE TABLE provisioner_applied (
            stack TEXT NOT NULL, address TEXT NOT NULL, provider TEXT NOT NULL,
            spec TEXT NOT NULL, deps TEXT NOT NULL, live_id TEXT NOT NULL, name TEXT NOT NULL,
            attributes TEXT NOT NULL, prevent_destroy BOOLEAN NOT NULL,
            applied_at TEXT NOT NULL, PRIMARY KEY (stack, address))""",
        """CREATE TABLE provisioner_journal (
            id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY, stack TEXT NOT NULL,
            run_id TEXT NOT NULL, address TEXT NOT NULL, operation TEXT NOT NULL,
            status TEXT NOT NULL, detail TEXT NOT NULL, started_at TEXT NOT NULL,
            finished_at TEXT NOT NULL)""",
        "CREATE INDEX provisioner_journal_status ON provisioner_journal (stack, status)",
        "CREATE INDEX provisioner_journal_run ON provisioner_journal (stack, run_id)",
        """CREATE TABLE provisioner_runs (
            stack TEXT NOT NULL, id TEXT NOT NULL, command TEXT NOT NULL,
            started_at TEXT NOT NULL, finished_at TEXT NOT NULL, status TEXT NOT NULL,
            summary TEXT NOT NULL, seq BIGINT GENERATED ALWAYS AS IDENTITY,
            PRIMARY KEY (stack, id))""",
        """CREATE TABLE provisioner_outputs (
            stack TEXT NOT NULL, name TEXT NOT NULL, value TEXT NOT NULL,
            PRIMARY KEY (stack, name))""",
        """CREATE TABLE provisioner_locks (
            stack TEXT PRIMARY KEY, id TEXT NOT NULL, host TEXT NOT NULL,
            pid INTEGER NOT NULL, user_name TEXT NOT NULL, operation TEXT NOT NULL,
            since TEXT NOT NULL, backend_pid INTEGER NOT NULL)""",
    ),
    (  # 2: snapshots taken of guests
        """CREATE TABLE provisioner_snapshots (
            stack TEXT NOT NULL, address TEXT NOT NULL, name TEXT NOT NULL,
            taken_at TEXT NOT NULL, PRIMARY KEY (stack, address, name))""",
    ),
    (  # 3: what a snapshot holds, when the provider says
        "ALTER TABLE provisioner_snapshots ADD COLUMN size BIGINT",
    ),
    (  # 4: the key of keyed digests (store.digest_key), one per stack
        """CREATE TABLE provisioner_secrets (
            stack TEXT NOT NULL, name TEXT NOT NULL, value TEXT NOT NULL,
            PRIMARY KEY (stack, name))""",
    ),
)
"""Applied in order, each in one transaction with its version bump; append, never edit.
JSON values are stored as text, exactly as the SQLite backend stores them."""


HOLDER_SQL = """
    SELECT l.pid AS session, k.id, k.host, k.pid, k.user_name, k.operation, k.since
    FROM pg_locks l
    LEFT JOIN provisioner_locks k ON k.stack = %(stack)s AND k.backend_pid = l.pid
    WHERE l.locktype = 'advisory' AND l.granted AND l.objsubid = 1
      AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())
      AND l.classid::bigint = %(high)s AND l.objid::bigint = %(low)s"""
"""The session holding the stack's advisory lock, with its row if that session wrote it
(a bigint advisory key shows in pg_locks as classid = high half, objid = low half)."""


def advisory_key(name: str) -> int:
    """A stable signed 64-bit key for ``pg_advisory_lock``: the same in every process
    and on every host (``hash()`` is salted per process)."""
    digest = hashlib.sha256(name.encode()).digest()
    return int.from_bytes(digest[:8], "big", signed=True)


SCHEMA_KEY = advisory_key("provisioner-schema")
