"""The SQLite store's lock: an flock that names its holder and dies with it.

The lock suite shared with the PostgreSQL backend lives in
tests/support/state_suite.py; what follows it here is specific to the lock file.
"""

from __future__ import annotations

import fcntl
import os
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest
from support.state_suite import StateLockSuite

from provisioner.errors import LockError
from provisioner.state.local import SQLiteStore

pytestmark = pytest.mark.unit


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    return tmp_path / "state.db"


@pytest.fixture
def store(db_path: Path) -> Iterator[SQLiteStore]:
    store = SQLiteStore(db_path)
    yield store
    store.close()


class TestSQLiteLock(StateLockSuite):
    @pytest.fixture
    def open_store_code(self, db_path: Path) -> str:
        return ("from pathlib import Path\n"
                "from provisioner.state.local import SQLiteStore\n"
                f"store = SQLiteStore(Path({str(db_path)!r}))")


def test_lock_file_is_emptied_after_the_block(store: SQLiteStore, db_path: Path) -> None:
    with store.lock("apply", timeout=0):
        assert db_path.with_name("state.db.lock").read_bytes() != b""
    assert db_path.with_name("state.db.lock").read_bytes() == b""


def test_undescribed_holder_is_another_process(store: SQLiteStore, db_path: Path) -> None:
    lock_path = db_path.with_name("state.db.lock")
    fd = os.open(lock_path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)  # held, but no holder written (yet)
        with pytest.raises(LockError, match="locked by another process"), \
                store.lock("apply", timeout=0):
            pass
        holder = store.lock_holder()
        assert holder is not None and holder.operation == "unknown"
    finally:
        os.close(fd)


def test_lock_file_is_private(store: SQLiteStore, db_path: Path) -> None:
    with store.lock("apply", timeout=0):
        pass
    assert stat.S_IMODE(db_path.with_name("state.db.lock").stat().st_mode) == 0o600
