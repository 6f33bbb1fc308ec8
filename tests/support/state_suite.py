"""The StateStore suites: every backend must pass them (SQLite, PostgreSQL).

A backend joins by subclassing, in its own test module, with the fixtures the
suite names:

- ``StateStoreSuite``: ``open_store``, a function that opens the same fresh
  store each time it is called (and closes what it opened at teardown);
- ``StateLockSuite``: ``store`` (a fresh store) and ``open_store_code``, Python
  that binds ``store`` to that same state in another process.

SQLite runs them from tests/unit, PostgreSQL from tests/integration (it needs
a server). Tests of one backend alone stay in that backend's module.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor

import pytest

from provisioner.core.address import Address
from provisioner.errors import LockError, StateError
from provisioner.state.store import AppliedRecord, JournalStatus, SnapshotRecord, StateStore

Opener = Callable[[], StateStore]


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


class StateStoreSuite:
    """Records, journal, runs and outputs: what every backend stores alike."""

    @pytest.fixture
    def store(self, open_store: Opener) -> StateStore:
        return open_store()

    def test_a_new_store_is_empty(self, store: StateStore) -> None:
        assert store.snapshots() == []
        assert store.applied() == {}
        assert store.journal() == []
        assert store.unresolved() == []
        assert store.runs() == []
        assert store.outputs() == {}
        assert store.lock_holder() is None

    def test_the_digest_key_is_made_once_kept_and_adopted(self, store: StateStore,
                                                          open_store: Opener) -> None:
        key = store.digest_key()
        assert len(key) == 32 and store.digest_key() == key
        assert open_store().digest_key() == key  # the same state, opened again
        store.digest_key(adopt=b"k" * 32)  # state migrate carries a key over
        assert store.digest_key() == b"k" * 32

    def test_applied_record_roundtrips(self, store: StateStore) -> None:
        record = web_record()
        store.record_applied(record)
        assert store.applied() == {record.address: record}
        got = store.applied()[record.address]
        assert got.deps == (addr("volumes.data"), addr("networks.lab"))
        assert got.prevent_destroy is True

    def test_applied_at_defaults_to_now(self, store: StateStore) -> None:
        store.record_applied(web_record(applied_at="", prevent_destroy=False, deps=()))
        got = store.applied()[addr("guests.web-0")]
        assert got.applied_at.startswith("20")
        assert got.prevent_destroy is False
        assert got.deps == ()

    def test_record_applied_overwrites(self, store: StateStore) -> None:
        store.record_applied(web_record())
        newer = web_record(spec={"cpus": 4}, live_id="new-id", deps=())
        store.record_applied(newer)
        assert store.applied() == {newer.address: newer}

    def test_forget_drops_only_that_address_and_absent_is_fine(self, store: StateStore) -> None:
        store.record_applied(web_record("web-0"))
        store.record_applied(web_record("web-1"))
        store.forget(addr("guests.web-0"))
        store.forget(addr("guests.never-there"))
        assert list(store.applied()) == [addr("guests.web-1")]

    def test_journal_intent_then_outcome(self, store: StateStore) -> None:
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

    def test_journal_outcome_detail_replaces(self, store: StateStore) -> None:
        entry_id = store.journal_intent("r1", "guests.web-0", "create")
        store.journal_outcome(entry_id, JournalStatus.FAILED, "libvirt: no space left")
        assert store.journal()[0].detail == "libvirt: no space left"

    def test_unresolved_lists_only_pending_oldest_first(self, store: StateStore) -> None:
        first = store.journal_intent("r1", "networks.lab", "create")
        done = store.journal_intent("r1", "volumes.data", "create")
        last = store.journal_intent("r1", "guests.web-0", "create")
        store.journal_outcome(done, JournalStatus.OK)
        assert [entry.id for entry in store.unresolved()] == [first, last]
        store.journal_outcome(first, JournalStatus.RESOLVED, "found on the hypervisor")
        assert [entry.id for entry in store.unresolved()] == [last]

    def test_resolve_settles_only_a_pending_entry(self, store: StateStore) -> None:
        pending = store.journal_intent("r1", "guests.web-0", "create")
        done = store.journal_intent("r1", "guests.web-1", "create")
        store.journal_outcome(done, JournalStatus.OK)
        store.resolve(pending, "found on the hypervisor")
        entry = store.journal()[0]
        assert (entry.status, entry.detail) == (JournalStatus.RESOLVED, "found on the hypervisor")
        assert entry.finished_at
        assert store.unresolved() == []
        with pytest.raises(StateError, match=f"pending journal entry {done}"):
            store.resolve(done, "already settled")
        with pytest.raises(StateError, match="pending journal entry 4242"):
            store.resolve(4242, "never written")

    def test_journal_is_oldest_first_and_filters_by_run(self, store: StateStore) -> None:
        run_a, run_b = store.begin_run("apply"), store.begin_run("apply")
        ids = [store.journal_intent(run, f"guests.web-{n}", "create")
               for n, run in enumerate([run_a, run_b, run_a, run_b, run_a])]
        assert [entry.id for entry in store.journal()] == ids
        assert ids == sorted(ids)
        assert [entry.address for entry in store.journal(run_a)] == [
            "guests.web-0", "guests.web-2", "guests.web-4"]
        assert {entry.run_id for entry in store.journal(run_b)} == {run_b}
        assert store.journal("no-such-run") == []

    def test_journal_outcome_of_unknown_entry_is_an_error(self, store: StateStore) -> None:
        with pytest.raises(StateError, match="journal entry 4242"):
            store.journal_outcome(4242, JournalStatus.OK)

    def test_runs_newest_first_with_summary(self, store: StateStore) -> None:
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

    def test_finish_unknown_run_is_an_error(self, store: StateStore) -> None:
        with pytest.raises(StateError, match="run nope"):
            store.finish_run("nope", "ok", {})

    def test_set_outputs_replaces_all(self, store: StateStore) -> None:
        store.set_outputs({"web_ips": ["10.42.0.5", "10.42.0.6"], "db": {"port": 5432}})
        assert store.outputs() == {"web_ips": ["10.42.0.5", "10.42.0.6"], "db": {"port": 5432}}
        store.set_outputs({"count": 3, "nothing": None})
        assert store.outputs() == {"count": 3, "nothing": None}
        store.set_outputs({})
        assert store.outputs() == {}

    def test_snapshot_records_by_address_then_oldest_first(self, store: StateStore) -> None:
        late = SnapshotRecord(addr("guests.web-0"), "b", "2024-05-02T10:00:00+00:00",
                              size=5 * 1024**4)  # more than 32 bits
        early = SnapshotRecord(addr("guests.web-0"), "a", "2024-05-01T10:00:00+00:00")
        other = SnapshotRecord(addr("guests.db"), "z", "2024-05-03T10:00:00+00:00")
        for record in (late, early, other):
            store.record_snapshot(record)
        assert store.snapshots() == [other, early, late]

    def test_a_snapshot_record_is_replaced_and_forgotten(self, store: StateStore) -> None:
        store.record_snapshot(SnapshotRecord(addr("guests.web-0"), "a"))
        (first,) = store.snapshots()
        assert first.taken_at  # now, set by the store
        again = SnapshotRecord(addr("guests.web-0"), "a", "2030-01-01T00:00:00+00:00")
        store.record_snapshot(again)
        assert store.snapshots() == [again]
        store.forget_snapshot(addr("guests.web-0"), "a")
        store.forget_snapshot(addr("guests.web-0"), "a")  # absent is fine
        assert store.snapshots() == []

    def test_forgetting_a_guest_forgets_its_snapshots_only(self, store: StateStore) -> None:
        store.record_applied(web_record())
        store.record_snapshot(SnapshotRecord(addr("guests.web-0"), "a"))
        kept = SnapshotRecord(addr("guests.web-1"), "a", "2024-05-01T10:00:00+00:00")
        store.record_snapshot(kept)
        store.forget(addr("guests.web-0"))
        assert store.snapshots() == [kept]

    def test_everything_persists_across_close_and_reopen(self, open_store: Opener) -> None:
        store = open_store()
        record = web_record()
        store.record_applied(record)
        run = store.begin_run("apply")
        pending = store.journal_intent(run, "guests.web-0", "create")
        store.finish_run(run, "failed", {"failed": 1})
        store.set_outputs({"web_ips": ["10.42.0.5"]})
        snap = SnapshotRecord(addr("guests.web-0"), "before", "2024-05-01T11:00:00+00:00")
        store.record_snapshot(snap)
        store.close()

        reopened = open_store()
        assert reopened.applied() == {record.address: record}
        assert [entry.id for entry in reopened.unresolved()] == [pending]
        assert [(r.id, r.status, r.summary) for r in reopened.runs()] == [
            (run, "failed", {"failed": 1})]
        assert reopened.outputs() == {"web_ips": ["10.42.0.5"]}
        assert reopened.snapshots() == [snap]

    def test_close_twice_does_not_raise(self, store: StateStore) -> None:
        store.close()
        store.close()

    def test_concurrent_writes_from_threads_all_land(self, store: StateStore) -> None:
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


HOLDER_SCRIPT = """
import time
{open_store_code}
with store.lock("apply", timeout=5):
    print("locked", flush=True)
    time.sleep(120)
"""


class StateLockSuite:
    """The stack lock: one holder, named to whoever waits, released with its process."""

    release_grace = 0.0
    """How long a killed holder's lock may outlive it (0: released with the process)."""

    @pytest.fixture
    def other_process(self, open_store_code: str) -> Iterator[subprocess.Popen[str]]:
        """Another process that opened the same state and holds its lock for `apply`."""
        script = HOLDER_SCRIPT.format(open_store_code=open_store_code)
        proc = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE,
                                text=True)
        try:
            assert proc.stdout is not None
            assert proc.stdout.readline().strip() == "locked"
            yield proc
        finally:
            proc.kill()
            proc.wait()

    def test_lock_held_elsewhere_times_out_naming_the_holder(
        self, store: StateStore, other_process: subprocess.Popen[str]
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

    def test_timeout_zero_tries_once(
        self, store: StateStore, other_process: subprocess.Popen[str]
    ) -> None:
        started = time.monotonic()
        with pytest.raises(LockError), store.lock("plan", timeout=0):
            pass
        assert time.monotonic() - started < 0.2  # no polling

    def test_killed_holder_releases_the_lock_at_once(
        self, store: StateStore, other_process: subprocess.Popen[str]
    ) -> None:
        other_process.send_signal(signal.SIGKILL)
        other_process.wait()
        started = time.monotonic()
        with store.lock("apply", timeout=self.release_grace) as holder:
            assert holder.pid == os.getpid()
        assert time.monotonic() - started <= self.release_grace + 0.2

    def test_lock_is_released_after_the_block(self, store: StateStore) -> None:
        with store.lock("apply", timeout=0) as first:
            assert first.operation == "apply"
        with store.lock("destroy", timeout=0) as second:
            assert second.id != first.id
        assert store.lock_holder() is None

    def test_lock_is_released_when_the_block_raises(self, store: StateStore) -> None:
        with pytest.raises(RuntimeError), store.lock("apply", timeout=0):
            raise RuntimeError("provider failed")
        with store.lock("apply", timeout=0):
            pass

    def test_lock_is_not_reentrant(self, store: StateStore) -> None:
        with store.lock("apply", timeout=0), pytest.raises(LockError, match="apply by"), \
                store.lock("plan", timeout=0):
            pass

    def test_lock_holder_names_the_holder_only_while_held(self, store: StateStore) -> None:
        assert store.lock_holder() is None
        with store.lock("apply", timeout=0) as holder:
            assert store.lock_holder() == holder
            assert holder.host == socket.gethostname()
            assert holder.pid == os.getpid()
            assert holder.user and holder.since and len(holder.id) == 32
        assert store.lock_holder() is None

    def test_lock_holder_sees_another_process(
        self, store: StateStore, other_process: subprocess.Popen[str]
    ) -> None:
        holder = store.lock_holder()
        assert holder is not None
        assert (holder.pid, holder.operation, holder.host) == (
            other_process.pid, "apply", socket.gethostname())

    def test_force_unlock_of_a_free_stack_says_so(self, store: StateStore) -> None:
        assert "not locked" in store.force_unlock("0123abcd")

    def test_force_unlock_needs_the_current_lock_id(
        self, store: StateStore, other_process: subprocess.Popen[str]
    ) -> None:
        with pytest.raises(LockError, match="lock 0123abcd is not the current lock") as info:
            store.force_unlock("0123abcd")
        assert f"pid {other_process.pid}" in str(info.value)
        assert other_process.poll() is None
        assert store.lock_holder() is not None
