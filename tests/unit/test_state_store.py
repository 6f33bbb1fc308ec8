"""The StateStore suite: every backend must pass it (SQLite now, PostgreSQL later).

A backend joins by providing an ``*_opener`` fixture (a function that opens
the same fresh store each time it is called) and listing it in ``BACKENDS``.
Tests at the end of the file are specific to the SQLite file.
"""

from __future__ import annotations

import os
import sqlite3
import stat
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from provisioner.errors import StateError
from provisioner.stack.address import Address
from provisioner.state.local import SQLiteStore
from provisioner.state.store import AppliedRecord, JournalStatus, StateStore

pytestmark = pytest.mark.unit

Opener = Callable[[], StateStore]

BACKENDS = ["sqlite_opener"]  # add "postgres_opener" with the PostgreSQL backend


@pytest.fixture
def sqlite_opener(tmp_path: Path) -> Iterator[Opener]:
    opened: list[StateStore] = []

    def open_store() -> StateStore:
        store = SQLiteStore(tmp_path / "state" / "state.db")
        opened.append(store)
        return store

    yield open_store
    for store in opened:
        store.close()


@pytest.fixture(params=BACKENDS)
def open_store(request: pytest.FixtureRequest) -> Opener:
    opener: Opener = request.getfixturevalue(request.param)
    return opener


@pytest.fixture
def store(open_store: Opener) -> StateStore:
    return open_store()


def addr(text: str) -> Address:
    return Address.parse(text)


def web_record(name: str = "web-0", **changes: object) -> AppliedRecord:
    fields: dict[str, object] = {
        "address": addr(f"guests.{name}"),
        "provider": "kvm",
        "spec": {
            "cpus": 2,
            "memory": 2147483648,
            "disks": [{"size": 10737418240, "slot": 0}, {"volume": "data", "slot": 1}],
            "cloud_init": {"user_data": {"label": "web.cloud.yaml", "digest": "sha256:ab12"}},
            "image": None,
            "power": "running",
        },
        "deps": (addr("volumes.data"), addr("networks.lab")),
        "live_id": "3f2a-uuid",
        "name": f"homelab-{name}",
        "attributes": {"ip": "10.42.0.5", "macs": ["52:54:00:aa:bb:cc"], "up": True},
        "prevent_destroy": True,
        "applied_at": "2024-05-01T10:00:00+00:00",
    }
    fields.update(changes)
    return AppliedRecord(**fields)  # type: ignore[arg-type]


def test_a_new_store_is_empty(store: StateStore) -> None:
    assert store.applied() == {}
    assert store.journal() == []
    assert store.unresolved() == []
    assert store.runs() == []
    assert store.outputs() == {}
    assert store.lock_holder() is None


def test_applied_record_roundtrips(store: StateStore) -> None:
    record = web_record()
    store.record_applied(record)
    assert store.applied() == {record.address: record}
    got = store.applied()[record.address]
    assert got.deps == (addr("volumes.data"), addr("networks.lab"))
    assert got.prevent_destroy is True


def test_applied_at_defaults_to_now(store: StateStore) -> None:
    store.record_applied(web_record(applied_at="", prevent_destroy=False, deps=()))
    got = store.applied()[addr("guests.web-0")]
    assert got.applied_at.startswith("20")
    assert got.prevent_destroy is False
    assert got.deps == ()


def test_record_applied_overwrites(store: StateStore) -> None:
    store.record_applied(web_record())
    newer = web_record(spec={"cpus": 4}, live_id="new-id", deps=())
    store.record_applied(newer)
    assert store.applied() == {newer.address: newer}


def test_forget_drops_only_that_address_and_absent_is_fine(store: StateStore) -> None:
    store.record_applied(web_record("web-0"))
    store.record_applied(web_record("web-1"))
    store.forget(addr("guests.web-0"))
    store.forget(addr("guests.never-there"))
    assert list(store.applied()) == [addr("guests.web-1")]


def test_journal_intent_then_outcome(store: StateStore) -> None:
    run = store.begin_run("apply")
    entry_id = store.journal_intent(run, "guests.web-0", "create", "2 cpus")
    (pending,) = store.unresolved()
    assert (pending.id, pending.status, pending.detail) == (entry_id, JournalStatus.PENDING,
                                                            "2 cpus")
    assert pending.started_at and not pending.finished_at

    store.journal_outcome(entry_id, JournalStatus.OK)
    (done,) = store.journal(run)
    assert done.status is JournalStatus.OK
    assert done.finished_at
    assert done.detail == "2 cpus"  # an outcome without detail keeps the intent's
    assert store.unresolved() == []


def test_journal_outcome_detail_replaces(store: StateStore) -> None:
    entry_id = store.journal_intent("r1", "guests.web-0", "create")
    store.journal_outcome(entry_id, JournalStatus.FAILED, "libvirt: no space left")
    assert store.journal()[0].detail == "libvirt: no space left"


def test_unresolved_lists_only_pending_oldest_first(store: StateStore) -> None:
    first = store.journal_intent("r1", "networks.lab", "create")
    done = store.journal_intent("r1", "volumes.data", "create")
    last = store.journal_intent("r1", "guests.web-0", "create")
    store.journal_outcome(done, JournalStatus.OK)
    assert [entry.id for entry in store.unresolved()] == [first, last]
    store.journal_outcome(first, JournalStatus.RESOLVED, "found on the hypervisor")
    assert [entry.id for entry in store.unresolved()] == [last]


def test_journal_is_oldest_first_and_filters_by_run(store: StateStore) -> None:
    run_a, run_b = store.begin_run("apply"), store.begin_run("apply")
    ids = [store.journal_intent(run, f"guests.web-{n}", "create")
           for n, run in enumerate([run_a, run_b, run_a, run_b, run_a])]
    assert [entry.id for entry in store.journal()] == ids
    assert ids == sorted(ids)
    assert [entry.address for entry in store.journal(run_a)] == [
        "guests.web-0", "guests.web-2", "guests.web-4"]
    assert {entry.run_id for entry in store.journal(run_b)} == {run_b}
    assert store.journal("no-such-run") == []


def test_journal_outcome_of_unknown_entry_is_an_error(store: StateStore) -> None:
    with pytest.raises(StateError, match="journal entry 4242"):
        store.journal_outcome(4242, JournalStatus.OK)


def test_runs_newest_first_with_summary(store: StateStore) -> None:
    first = store.begin_run("plan")
    second = store.begin_run("apply")
    third = store.begin_run("destroy")
    assert len({first, second, third}) == 3
    store.finish_run(second, "ok", {"create": 3, "errors": [], "by_kind": {"guests": 3}})

    runs = store.runs()
    assert [run.id for run in runs] == [third, second, first]
    assert [run.command for run in runs] == ["destroy", "apply", "plan"]
    assert runs[0].status == "running" and runs[0].finished_at == ""
    assert runs[1].status == "ok" and runs[1].finished_at
    assert runs[1].summary == {"create": 3, "errors": [], "by_kind": {"guests": 3}}
    assert [run.id for run in store.runs(limit=2)] == [third, second]


def test_finish_unknown_run_is_an_error(store: StateStore) -> None:
    with pytest.raises(StateError, match="run nope"):
        store.finish_run("nope", "ok", {})


def test_set_outputs_replaces_all(store: StateStore) -> None:
    store.set_outputs({"web_ips": ["10.42.0.5", "10.42.0.6"], "db": {"port": 5432}})
    assert store.outputs() == {"web_ips": ["10.42.0.5", "10.42.0.6"], "db": {"port": 5432}}
    store.set_outputs({"count": 3, "nothing": None})
    assert store.outputs() == {"count": 3, "nothing": None}
    store.set_outputs({})
    assert store.outputs() == {}


def test_everything_persists_across_close_and_reopen(open_store: Opener) -> None:
    store = open_store()
    record = web_record()
    store.record_applied(record)
    run = store.begin_run("apply")
    pending = store.journal_intent(run, "guests.web-0", "create")
    store.finish_run(run, "failed", {"failed": 1})
    store.set_outputs({"web_ips": ["10.42.0.5"]})
    store.close()

    reopened = open_store()
    assert reopened.applied() == {record.address: record}
    assert [entry.id for entry in reopened.unresolved()] == [pending]
    assert [(r.id, r.status, r.summary) for r in reopened.runs()] == [
        (run, "failed", {"failed": 1})]
    assert reopened.outputs() == {"web_ips": ["10.42.0.5"]}


def test_close_twice_does_not_raise(store: StateStore) -> None:
    store.close()
    store.close()


def test_concurrent_writes_from_threads_all_land(store: StateStore) -> None:
    def write(thread: int) -> None:
        for n in range(25):
            name = f"t{thread}-{n}"
            store.record_applied(web_record(name, spec={"thread": thread, "n": n}))
            store.journal_intent("r1", f"guests.{name}", "create")

    with ThreadPoolExecutor(max_workers=8) as pool:
        list(pool.map(write, range(8)))

    applied = store.applied()
    assert len(applied) == 200
    assert applied[addr("guests.t7-24")].spec == {"thread": 7, "n": 24}
    assert len(store.journal("r1")) == 200


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
        assert conn.execute("SELECT version FROM schema_version").fetchall() == [(1,)]
    conn.close()


def test_sqlite_reopening_does_not_migrate_again(tmp_path: Path) -> None:
    path = tmp_path / "state.db"
    SQLiteStore(path).close()
    SQLiteStore(path).close()
    with sqlite3.connect(path) as conn:
        assert conn.execute("SELECT version FROM schema_version").fetchall() == [(1,)]
    conn.close()


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
