"""The StateStore suite on the SQLite backend, then what is specific to the SQLite file.

The suite itself lives in tests/support/state_suite.py, shared with the
PostgreSQL backend (tests/integration/test_state_postgres.py).
"""

from __future__ import annotations

import os
import sqlite3
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest
from support.state_suite import Opener, StateStoreSuite, web_record

from provisioner.core.address import Address
from provisioner.errors import StateError
from provisioner.state.local import SQLiteStore
from provisioner.state.store import SnapshotRecord, StateStore

pytestmark = pytest.mark.unit


class TestSQLiteStore(StateStoreSuite):
    @pytest.fixture
    def open_store(self, tmp_path: Path) -> Iterator[Opener]:
        opened: list[StateStore] = []

        def open_store() -> StateStore:
            store = SQLiteStore(tmp_path / "state" / "state.db")
            opened.append(store)
            return store

        yield open_store
        for store in opened:
            store.close()


# SQLite specifics ---------------------------------------------------------------


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_sqlite_file_and_directory_are_private(tmp_path: Path) -> None:
    path = tmp_path / "new" / "dir" / "state.db"
    old_umask = os.umask(0o022)
    try:
        SQLiteStore(path).close()
    finally:
        os.umask(old_umask)
    assert mode(path) == 0o600
    assert mode(path.parent) == 0o700


def test_sqlite_uses_wal_and_versioned_schema(tmp_path: Path) -> None:
    path = tmp_path / "state.db"
    SQLiteStore(path).close()
    with sqlite3.connect(path) as conn:
        assert conn.execute("PRAGMA journal_mode").fetchone() == ("wal",)
        assert conn.execute("SELECT version FROM schema_version").fetchall() == [(3,)]
    conn.close()


def test_sqlite_reopening_does_not_migrate_again(tmp_path: Path) -> None:
    path = tmp_path / "state.db"
    SQLiteStore(path).close()
    SQLiteStore(path).close()
    with sqlite3.connect(path) as conn:
        assert conn.execute("SELECT version FROM schema_version").fetchall() == [(3,)]
    conn.close()


def test_sqlite_state_of_version_1_gains_the_snapshots_table_and_keeps_its_records(
        tmp_path: Path) -> None:
    path = tmp_path / "state.db"
    store = SQLiteStore(path)
    store.record_applied(web_record())
    store.close()
    with sqlite3.connect(path) as conn:  # as a version 1 file was: no snapshots table
        conn.execute("DROP TABLE snapshots")
        conn.execute("UPDATE schema_version SET version = 1")
    conn.close()
    with SQLiteStore(path) as reopened:
        assert list(reopened.applied()) == [web_record().address]
        assert reopened.snapshots() == []
    with sqlite3.connect(path) as conn:
        assert conn.execute("SELECT version FROM schema_version").fetchall() == [(3,)]
    conn.close()


def test_sqlite_state_of_version_2_keeps_its_snapshot_records_without_a_size(
        tmp_path: Path) -> None:
    path = tmp_path / "state.db"
    SQLiteStore(path).close()
    with sqlite3.connect(path) as conn:  # as a version 2 file was: no size column
        conn.execute("DROP TABLE snapshots")
        conn.execute("CREATE TABLE snapshots (address TEXT NOT NULL, name TEXT NOT NULL, "
                     "taken_at TEXT NOT NULL, PRIMARY KEY (address, name))")
        conn.execute("INSERT INTO snapshots VALUES ('guests.web-0', 'before', "
                     "'2024-05-01T10:00:00+00:00')")
        conn.execute("UPDATE schema_version SET version = 2")
    conn.close()
    with SQLiteStore(path) as reopened:
        assert reopened.snapshots() == [SnapshotRecord(
            Address.parse("guests.web-0"), "before", "2024-05-01T10:00:00+00:00", None)]
        reopened.record_snapshot(SnapshotRecord(Address.parse("guests.web-1"), "a", "", 5))
        assert [r.size for r in reopened.snapshots()] == [None, 5]


def test_sqlite_newer_schema_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "state.db"
    SQLiteStore(path).close()
    with sqlite3.connect(path) as conn:
        conn.execute("UPDATE schema_version SET version = 99")
    conn.close()
    with pytest.raises(StateError, match="schema version 99 is newer") as info:
        SQLiteStore(path)
    assert "upgrade provisioner" in info.value.hint


def test_sqlite_corrupt_file_is_a_state_error(tmp_path: Path) -> None:
    path = tmp_path / "state.db"
    path.write_bytes(b"this is not a database, just some text\n" * 200)
    with pytest.raises(StateError) as info:
        SQLiteStore(path)
    assert str(path) in str(info.value)
    assert isinstance(info.value.__cause__, sqlite3.DatabaseError)
    assert "move it aside" in info.value.hint


def test_sqlite_unusable_path_is_a_state_error(tmp_path: Path) -> None:
    not_a_dir = tmp_path / "file"
    not_a_dir.write_text("")
    with pytest.raises(StateError) as info:
        SQLiteStore(not_a_dir / "state.db")
    assert str(not_a_dir / "state.db") in str(info.value)
    assert isinstance(info.value.__cause__, OSError)
