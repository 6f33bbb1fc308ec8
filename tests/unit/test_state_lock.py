"""The SQLite store's lock: an flock that names its holder and dies with it."""

from __future__ import annotations

import fcntl
import os
import signal
import socket
import stat
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from provisioner.errors import LockError
from provisioner.state.local import SQLiteStore

pytestmark = pytest.mark.unit

HOLDER_SCRIPT = """
import sys, time
from pathlib import Path
from provisioner.state.local import SQLiteStore

store = SQLiteStore(Path(sys.argv[1]))
with store.lock("apply", timeout=5):
    print("locked", flush=True)
    time.sleep(120)
"""


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    return tmp_path / "state.db"


@pytest.fixture
def store(db_path: Path) -> Iterator[SQLiteStore]:
    store = SQLiteStore(db_path)
    yield store
    store.close()


@pytest.fixture
def other_process(db_path: Path) -> Iterator[subprocess.Popen[str]]:
    """Another process that opened the same state and holds its lock for `apply`."""
    proc = subprocess.Popen([sys.executable, "-c", HOLDER_SCRIPT, str(db_path)],
                            stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None
        assert proc.stdout.readline().strip() == "locked"
        yield proc
    finally:
        proc.kill()
        proc.wait()


def test_lock_held_elsewhere_times_out_naming_the_holder(
    store: SQLiteStore, other_process: subprocess.Popen[str]
) -> None:
    started = time.monotonic()
    with pytest.raises(LockError) as info, store.lock("plan", timeout=0.3):
        pytest.fail("the lock must not be granted while another process holds it")
    assert time.monotonic() - started >= 0.3
    message = str(info.value)
    assert f"pid {other_process.pid}" in message
    assert socket.gethostname() in message
    assert message.startswith("the stack is locked: apply by ")
    assert "force-unlock" in info.value.hint


def test_timeout_zero_tries_once(store: SQLiteStore, other_process: subprocess.Popen[str]) -> None:
    started = time.monotonic()
    with pytest.raises(LockError), store.lock("plan", timeout=0):
        pass
    assert time.monotonic() - started < 0.2  # no polling


def test_killed_holder_releases_the_lock_at_once(
    store: SQLiteStore, other_process: subprocess.Popen[str]
) -> None:
    other_process.send_signal(signal.SIGKILL)
    other_process.wait()
    with store.lock("apply", timeout=0) as holder:
        assert holder.pid == os.getpid()


def test_lock_is_released_after_the_block(store: SQLiteStore) -> None:
    with store.lock("apply", timeout=0) as first:
        assert first.operation == "apply"
    with store.lock("destroy", timeout=0) as second:
        assert second.id != first.id
    assert store.lock_holder() is None


def test_lock_is_released_when_the_block_raises(store: SQLiteStore) -> None:
    with pytest.raises(RuntimeError), store.lock("apply", timeout=0):
        raise RuntimeError("provider failed")
    with store.lock("apply", timeout=0):
        pass


def test_lock_is_not_reentrant(store: SQLiteStore) -> None:
    with store.lock("apply", timeout=0), pytest.raises(LockError, match="apply by"), \
            store.lock("plan", timeout=0):
        pass


def test_lock_holder_names_the_holder_only_while_held(
    store: SQLiteStore, db_path: Path
) -> None:
    assert store.lock_holder() is None
    with store.lock("apply", timeout=0) as holder:
        assert store.lock_holder() == holder
        assert holder.host == socket.gethostname()
        assert holder.pid == os.getpid()
        assert holder.user and holder.since and len(holder.id) == 32
    assert store.lock_holder() is None
    assert db_path.with_name("state.db.lock").read_bytes() == b""


def test_lock_holder_sees_another_process(
    store: SQLiteStore, other_process: subprocess.Popen[str]
) -> None:
    holder = store.lock_holder()
    assert holder is not None
    assert (holder.pid, holder.operation, holder.host) == (
        other_process.pid, "apply", socket.gethostname())


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
