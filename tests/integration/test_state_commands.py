"""`state migrate` and `force-unlock` through the real console script, on the local
and PostgreSQL backends; and two applies at once on PostgreSQL."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest
from support.libvirt_node import node_uri, write_stack

PROVISIONER = "provisioner"


def run(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([PROVISIONER, *args], capture_output=True, text=True, timeout=120,
                          check=False, env=env, stdin=subprocess.DEVNULL)


@pytest.fixture
def stack_dir(tmp_path: Path, pg_stack: str) -> Path:
    write_stack(tmp_path, textwrap.dedent(f"""\
        apiVersion: provisioner/v1
        stack: {pg_stack}
        providers:
          kvm: {{ type: libvirt, uri: "{node_uri(tmp_path)}" }}
        guests:
          web: {{ provider: kvm, count: 2, memory: 256MiB }}
        """))
    return tmp_path


@pytest.fixture
def pg_env(pg_dsn: str) -> dict[str, str]:
    return {**os.environ, "PROVISIONER_PG_DSN": pg_dsn}


def test_state_migrate_copies_local_state_into_postgres(stack_dir: Path,
                                                        pg_env: dict[str, str]) -> None:
    from provisioner.core.address import Address
    from provisioner.stack.loader import load_stack
    from provisioner.state.local import SQLiteStore
    from provisioner.state.postgres import PostgresStore
    from provisioner.state.store import SnapshotRecord

    applied = run("apply", str(stack_dir), "--auto-approve")
    assert applied.returncode == 0, applied.stderr
    name = load_stack(stack_dir).name
    snapshot = SnapshotRecord(Address.parse("guests.web-0"), "before", "2024-05-01T10:00:00+00:00")
    with SQLiteStore(stack_dir / ".provisioner" / f"{name}.db") as local_store:
        local_store.record_snapshot(snapshot)
    migrated = run("state", "migrate", str(stack_dir), env=pg_env)
    assert migrated.returncode == 0, migrated.stderr
    assert "Copied 2 resource record(s)" in migrated.stdout
    local = json.loads(run("show", str(stack_dir), "--json").stdout)
    remote = json.loads(run("show", str(stack_dir), "--json", "--state-backend", "postgres",
                            env=pg_env).stdout)
    assert remote["resources"] == local["resources"]
    assert remote["outputs"] == local["outputs"]
    with PostgresStore(pg_env["PROVISIONER_PG_DSN"], name) as remote_store:
        assert remote_store.snapshots() == [snapshot]
    again = run("state", "migrate", str(stack_dir), env=pg_env)
    assert again.returncode == 1
    assert "already holds stack" in again.stderr


@pytest.fixture
def pg_holder(stack_dir: Path, pg_env: dict[str, str]) -> Iterator[subprocess.Popen[str]]:
    """Another process holding the stack's PostgreSQL lock."""
    from provisioner.stack.loader import load_stack

    name = load_stack(stack_dir).name
    holder = subprocess.Popen([sys.executable, "-c", textwrap.dedent(f"""\
        import time
        from provisioner.state.postgres import PostgresStore
        store = PostgresStore({pg_env["PROVISIONER_PG_DSN"]!r}, {name!r})
        with store.lock("apply", 0) as held:
            print(held.id, flush=True)
            time.sleep(120)
        """)], stdout=subprocess.PIPE, text=True, env=pg_env)
    yield holder
    holder.send_signal(signal.SIGKILL)
    holder.wait()


def test_a_second_apply_on_postgres_waits_then_names_the_holder(
        stack_dir: Path, pg_env: dict[str, str], pg_holder: subprocess.Popen[str]) -> None:
    assert pg_holder.stdout is not None and pg_holder.stdout.readline().strip()
    waited = run("apply", str(stack_dir), "--auto-approve", "--state-backend", "postgres",
                 "--lock-timeout", "0.5", env=pg_env)
    assert waited.returncode == 1
    assert "the stack is locked" in waited.stderr
    assert f"pid {pg_holder.pid}" in waited.stderr and "apply by" in waited.stderr


def test_force_unlock_asks_then_ends_the_holders_session(
        stack_dir: Path, pg_env: dict[str, str], pg_holder: subprocess.Popen[str]) -> None:
    assert pg_holder.stdout is not None
    lock_id = pg_holder.stdout.readline().strip()
    refused = run("force-unlock", lock_id, str(stack_dir), "--state-backend", "postgres",
                  env=pg_env)
    assert refused.returncode == 1
    assert "refusing to force-unlock without a terminal" in refused.stderr
    wrong = run("force-unlock", "not-the-id", str(stack_dir), "--state-backend", "postgres",
                "--yes", env=pg_env)
    assert wrong.returncode == 1 and "is not the current lock" in wrong.stderr
    done = run("force-unlock", lock_id, str(stack_dir), "--state-backend", "postgres", "--yes",
               env=pg_env)
    assert done.returncode == 0, done.stderr
    applied = run("apply", str(stack_dir), "--auto-approve", "--state-backend", "postgres",
                  env=pg_env)
    assert applied.returncode == 0, applied.stderr


def test_force_unlock_answered_no_on_a_terminal_changes_nothing(
        stack_dir: Path, pg_env: dict[str, str], pg_holder: subprocess.Popen[str]) -> None:
    """On a terminal, any answer but 'yes' leaves the lock held and exits 1 with the
    command's own words (not an internal error)."""
    import pexpect

    assert pg_holder.stdout is not None
    lock_id = pg_holder.stdout.readline().strip()
    child = pexpect.spawn(PROVISIONER, ["force-unlock", lock_id, str(stack_dir),
                                        "--state-backend", "postgres"],
                          env=pg_env, encoding="utf-8", timeout=60)
    child.expect("Only 'yes' is accepted")
    child.sendline("no")
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 1
    assert "Nothing was changed." in (child.before or "")
    assert "internal error" not in (child.before or "")
    waited = run("apply", str(stack_dir), "--auto-approve", "--state-backend", "postgres",
                 "--lock-timeout", "0.5", env=pg_env)
    assert waited.returncode == 1 and "the stack is locked" in waited.stderr


def test_force_unlock_of_a_live_local_holder_is_refused(stack_dir: Path) -> None:
    from provisioner.stack.loader import load_stack

    name = load_stack(stack_dir).name
    holder = subprocess.Popen([sys.executable, "-c", textwrap.dedent(f"""\
        import time
        from pathlib import Path
        from provisioner.state.local import SQLiteStore
        store = SQLiteStore(Path({str(stack_dir / '.provisioner' / (name + '.db'))!r}))
        with store.lock("apply", 0) as held:
            print(held.id, flush=True)
            time.sleep(120)
        """)], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout is not None
        lock_id = holder.stdout.readline().strip()
        refused = run("force-unlock", lock_id, str(stack_dir), "--yes")
        assert refused.returncode == 1
        assert "held by a live process" in refused.stderr and f"pid {holder.pid}" in refused.stderr
    finally:
        holder.send_signal(signal.SIGKILL)
        holder.wait()
    free = run("force-unlock", "any", str(stack_dir), "--yes")
    assert free.returncode == 0 and "is not locked" in free.stdout
