"""The PostgreSQL state backend against a real server (``scripts/postgres``).

The suites every backend passes (tests/support/state_suite.py), then what is
PostgreSQL's own: stacks sharing one database, the schema and its migrations,
the advisory lock's session (killed, terminated, undescribed holders), the
DSN's password kept out of every message, a connection lost mid-run, and the
console script keeping a stack's state in PostgreSQL.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import textwrap
import threading
import time
import traceback
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from psycopg.conninfo import conninfo_to_dict, make_conninfo
from support.libvirt_node import node_uri, write_stack
from support.state_suite import Opener, StateLockSuite, StateStoreSuite, addr, web_record

from provisioner.errors import LockError, StateError
from provisioner.state.postgres import MIGRATIONS, PostgresStore, advisory_key
from provisioner.state.store import SnapshotRecord, StateStore

PASSWORD = "Sw0rdfish-never-shown"


@pytest.fixture
def store(pg_dsn: str, pg_stack: str) -> Iterator[PostgresStore]:
    store = PostgresStore(pg_dsn, pg_stack)
    yield store
    store.close()


def admin(dsn: str) -> psycopg.Connection[tuple[object, ...]]:
    return psycopg.connect(dsn, autocommit=True)


def terminate_sessions(dsn: str, application_name: str) -> int:
    """End the server sessions of one store (its connections name the stack); waits
    until they are gone. Returns how many there were."""
    with admin(dsn) as conn:
        rows = conn.execute("SELECT pg_terminate_backend(pid, 5000) FROM pg_stat_activity "
                            "WHERE application_name = %s", (application_name,)).fetchall()
    assert all(row[0] for row in rows)
    return len(rows)


class TestPostgresStore(StateStoreSuite):
    @pytest.fixture
    def open_store(self, pg_dsn: str, pg_stack: str) -> Iterator[Opener]:
        opened: list[StateStore] = []

        def open_store() -> StateStore:
            store = PostgresStore(pg_dsn, pg_stack)
            opened.append(store)
            return store

        yield open_store
        for store in opened:
            store.close()


class TestPostgresLock(StateLockSuite):
    release_grace = 2.0
    """The server notices a killed client's closed socket at once; the grace covers
    the exit of its backend process, which runs apart from ours."""

    @pytest.fixture
    def open_store_code(self, pg_dsn: str, pg_stack: str) -> str:
        return ("from provisioner.state.postgres import PostgresStore\n"
                f"store = PostgresStore({pg_dsn!r}, {pg_stack!r})")

    def test_force_unlock_ends_a_live_holders_session(
        self, store: PostgresStore, other_process: subprocess.Popen[str]
    ) -> None:
        holder = store.lock_holder()
        assert holder is not None
        done = store.force_unlock(holder.id)
        assert "ended the state server session" in done
        assert f"pid {other_process.pid}" in done
        assert store.lock_holder() is None
        with store.lock("apply", timeout=0) as mine:
            assert mine.pid == os.getpid()
        assert other_process.poll() is None  # the process lives on; its lock does not

    def test_a_holder_whose_lock_was_forced_cannot_write(
        self, pg_dsn: str, pg_stack: str, store: PostgresStore
    ) -> None:
        with PostgresStore(pg_dsn, pg_stack) as other:
            with store.lock("apply", timeout=0) as holder:
                store.record_applied(web_record("web-0"))
                other.force_unlock(holder.id)
                with pytest.raises(LockError, match=r"lock of stack .* was lost") as info:
                    store.record_applied(web_record("web-1"))
                assert "provisioner plan" in info.value.hint
            assert list(other.applied()) == [addr("guests.web-0")]
        store.record_applied(web_record("web-1"))  # unlocked writes are not fenced

    def test_killed_holders_row_is_not_believed(
        self, pg_dsn: str, pg_stack: str, store: PostgresStore,
        other_process: subprocess.Popen[str],
    ) -> None:
        other_process.send_signal(signal.SIGKILL)
        other_process.wait()
        deadline = time.monotonic() + self.release_grace
        while store.lock_holder() is not None:
            assert time.monotonic() < deadline, "the killed holder's lock outlived it"
            time.sleep(0.05)
        with admin(pg_dsn) as conn:  # its row is still there, naming a dead session
            rows = conn.execute("SELECT pid FROM provisioner_locks WHERE stack = %s",
                                (pg_stack,)).fetchall()
        assert rows == [(other_process.pid,)]
        assert "not locked" in store.force_unlock("anything")

    def test_undescribed_holder_is_another_session(
        self, pg_dsn: str, pg_stack: str, store: PostgresStore
    ) -> None:
        with admin(pg_dsn) as conn:
            conn.execute("SELECT pg_advisory_lock(%s)", (advisory_key(f"provisioner:{pg_stack}"),))
            session = conn.info.backend_pid
            with pytest.raises(LockError, match=rf"another session .*backend pid {session}"), \
                    store.lock("apply", timeout=0):
                pass
            holder = store.lock_holder()
            assert holder is not None and holder.operation == "unknown"
            with pytest.raises(LockError, match="undescribed holder"):
                store.force_unlock("anything")

    def test_the_lock_key_is_stable_across_versions_and_hosts(self) -> None:
        # Two provisioner versions deriving different keys would both get "the" lock.
        assert advisory_key("provisioner:lab") == -2789407824056130974


def test_stacks_sharing_a_database_do_not_see_each_other(pg_dsn: str, pg_stack: str) -> None:
    with PostgresStore(pg_dsn, f"{pg_stack}-a") as one, \
            PostgresStore(pg_dsn, f"{pg_stack}-b") as two:
        one.record_applied(web_record("web-0"))
        run = one.begin_run("apply")
        entry = one.journal_intent(run, "guests.web-0", "create")
        one.set_outputs({"ip": "10.42.0.5"})
        assert (two.applied(), two.journal(), two.unresolved(), two.runs(), two.outputs()) == (
            {}, [], [], [], {})
        with pytest.raises(StateError, match=f"journal entry {entry}"):
            two.journal_outcome(entry, "ok")  # type: ignore[arg-type]
        with one.lock("apply", timeout=0), two.lock("apply", timeout=0):
            assert two.lock_holder() != one.lock_holder()
        two.set_outputs({})
        assert one.outputs() == {"ip": "10.42.0.5"}
        two.forget(addr("guests.web-0"))
        assert list(one.applied()) == [addr("guests.web-0")]


# The schema ------------------------------------------------------------------------


def tables(dsn: str) -> set[str]:
    with admin(dsn) as conn:
        rows = conn.execute("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")
        return {str(row[0]) for row in rows}


def versions(dsn: str) -> list[int]:
    with admin(dsn) as conn:
        return [int(str(row[0])) for row in conn.execute("SELECT version FROM provisioner_schema")]


def test_schema_is_created_on_first_use_with_its_version(pg_fresh_database: str) -> None:
    assert tables(pg_fresh_database) == set()
    PostgresStore(pg_fresh_database, "lab").close()
    assert tables(pg_fresh_database) == {f"provisioner_{name}" for name in (
        "schema", "applied", "journal", "runs", "outputs", "locks", "snapshots", "secrets")}
    assert versions(pg_fresh_database) == [len(MIGRATIONS)]
    PostgresStore(pg_fresh_database, "other").close()
    assert versions(pg_fresh_database) == [len(MIGRATIONS)]


def test_a_version_2_schema_gains_the_snapshot_size_and_keeps_its_records(
        pg_fresh_database: str) -> None:
    PostgresStore(pg_fresh_database, "lab").close()
    with admin(pg_fresh_database) as conn:  # as version 2 left it: no size, no secrets
        conn.execute("ALTER TABLE provisioner_snapshots DROP COLUMN size")
        conn.execute("DROP TABLE provisioner_secrets")
        conn.execute("INSERT INTO provisioner_snapshots VALUES "
                     "('lab', 'guests.web-0', 'before', '2024-05-01T10:00:00+00:00')")
        conn.execute("UPDATE provisioner_schema SET version = 2")
    with PostgresStore(pg_fresh_database, "lab") as store:
        assert [(str(r.address), r.name, r.size) for r in store.snapshots()] == [
            ("guests.web-0", "before", None)]
        store.record_snapshot(SnapshotRecord(addr("guests.web-1"), "a", "", 5 * 1024**4))
        assert [r.size for r in store.snapshots()] == [None, 5 * 1024**4]
    assert versions(pg_fresh_database) == [len(MIGRATIONS)]


def test_processes_opening_a_new_database_at_once_migrate_it_once(
    pg_fresh_database: str,
) -> None:
    errors: list[BaseException] = []
    start = threading.Barrier(6)

    def open_one(n: int) -> None:
        start.wait()
        try:
            PostgresStore(pg_fresh_database, f"stack-{n}").close()
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=open_one, args=(n,)) for n in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert versions(pg_fresh_database) == [len(MIGRATIONS)]


def test_newer_schema_is_refused(pg_fresh_database: str) -> None:
    PostgresStore(pg_fresh_database, "lab").close()
    with admin(pg_fresh_database) as conn:
        conn.execute("UPDATE provisioner_schema SET version = 99")
    with pytest.raises(StateError, match="schema version 99 is newer") as info:
        PostgresStore(pg_fresh_database, "lab")
    assert "upgrade provisioner" in info.value.hint


# Secrets and failures ------------------------------------------------------------------


def with_password(dsn: str, password: str, **changes: object) -> str:
    return make_conninfo(dsn, password=password, **changes)


def assert_hidden(error: BaseException, secret: str) -> None:
    shown = [str(error), repr(error), getattr(error, "hint", ""),
             "".join(traceback.format_exception(error))]
    assert not [text for text in shown if secret in text]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_a_wrong_password_is_a_state_error_that_does_not_show_it(pg_dsn: str) -> None:
    with pytest.raises(StateError) as info:
        PostgresStore(with_password(pg_dsn, PASSWORD), "lab")
    assert_hidden(info.value, PASSWORD)
    assert "password authentication failed" in str(info.value)
    assert "state server 127.0.0.1:55432/provisioner" in str(info.value)
    assert "user and password" in info.value.hint
    assert isinstance(info.value.__cause__, psycopg.OperationalError)


def test_a_server_that_does_not_answer_is_a_state_error(pg_dsn: str) -> None:
    port = free_port()
    with pytest.raises(StateError) as info:
        PostgresStore(with_password(pg_dsn, PASSWORD, port=port), "lab")
    assert_hidden(info.value, PASSWORD)
    assert f"state server 127.0.0.1:{port}/provisioner" in str(info.value)
    assert "reachable" in info.value.hint


def test_a_malformed_dsn_is_a_state_error_that_does_not_show_it() -> None:
    with pytest.raises(StateError, match="not a valid PostgreSQL connection string") as info:
        PostgresStore(f"host=db password={PASSWORD} port", "lab")
    assert_hidden(info.value, PASSWORD)
    assert info.value.__cause__ is None


def test_repr_names_the_server_not_the_dsn(store: PostgresStore, pg_dsn: str) -> None:
    password = conninfo_to_dict(pg_dsn)["password"]
    assert repr(store).startswith("PostgresStore('127.0.0.1:55432/provisioner', stack=")
    assert str(password) not in repr(store) + store.server


def test_a_lost_connection_fails_the_write_and_the_next_read_reconnects(
    pg_dsn: str, store: PostgresStore, pg_stack: str
) -> None:
    store.record_applied(web_record("web-0"))
    assert terminate_sessions(pg_dsn, f"provisioner {pg_stack}") == 1
    with pytest.raises(StateError) as info:
        store.record_applied(web_record("web-1"))
    message = str(info.value)
    assert message.startswith("state server 127.0.0.1:55432/provisioner")
    assert "connection was lost: nothing of this write was saved" in message
    assert "reconnects" in info.value.hint
    assert isinstance(info.value.__cause__, psycopg.OperationalError)

    assert list(store.applied()) == [addr("guests.web-0")]  # a new connection
    store.record_applied(web_record("web-1"))
    assert len(store.applied()) == 2


def test_a_read_on_a_lost_connection_is_retried_on_a_new_one(
    pg_dsn: str, store: PostgresStore, pg_stack: str
) -> None:
    store.set_outputs({"ip": "10.42.0.5"})
    assert terminate_sessions(pg_dsn, f"provisioner {pg_stack}") == 1
    assert store.outputs() == {"ip": "10.42.0.5"}


# The console script -----------------------------------------------------------------


def test_plan_apply_show_keep_the_state_in_postgres(
    tmp_path: Path, pg_dsn: str, pg_stack: str
) -> None:
    uri = node_uri(tmp_path)
    write_stack(tmp_path, textwrap.dedent(f"""\
        apiVersion: provisioner/v1
        stack: {pg_stack}
        state: {{ backend: postgres, dsn: "${{env.PROVISIONER_PG_DSN}}" }}
        providers:
          kvm: {{ type: libvirt, uri: "{uri}" }}
        networks:
          lab: {{ provider: kvm, mode: nat, cidr: 10.9.0.0/24 }}
        guests:
          web:
            provider: kvm
            count: 2
            memory: 256MiB
            disks: [ {{ size: 1GiB }} ]
            networks: [ {{ network: lab }} ]
        """))
    env = {**os.environ, "PROVISIONER_PG_DSN": pg_dsn, "NO_COLOR": "1"}
    password = str(conninfo_to_dict(pg_dsn)["password"])
    provisioner = shutil.which("provisioner") or "provisioner"

    def run(*args: str) -> str:
        result = subprocess.run([provisioner, *args, str(tmp_path)], env=env, text=True,
                                capture_output=True, timeout=120, check=False)
        assert result.returncode == 0, result.stdout + result.stderr
        assert password not in result.stdout + result.stderr
        return result.stdout

    assert "Plan: 3 to add, 0 to change, 0 to destroy." in run("plan")
    run("apply", "--auto-approve")
    document = json.loads(run("show", "--json"))

    assert document["stack"] == pg_stack
    assert [r["address"] for r in document["resources"]] == [
        "networks.lab", "guests.web-0", "guests.web-1"]
    assert [(r["command"], r["status"]) for r in document["runs"]] == [("apply", "ok")]
    assert not (tmp_path / ".provisioner").exists()
    with PostgresStore(pg_dsn, pg_stack) as store:
        assert len(store.applied()) == 3
