"""The local state file: an empty or foreign file is refused, not extended; damaged
rows are a plain error; a state directory or file left open to others is made
private.

Before: emptying ``.provisioner/STACK.db`` made the next plan start a new state
(and forget every prevent_destroy of removed resources); a foreign SQLite file
got provisioner's tables added; damaged JSON gave "internal error"; a 0777
``.provisioner`` and a 0666 database kept their modes.
"""

from __future__ import annotations

import os
import sqlite3
import stat
from pathlib import Path

import pytest
from support.hostile_runner import invoke, write_stack


@pytest.fixture
def stack(tmp_path: Path) -> Path:
    write_stack(tmp_path)
    return tmp_path


def database(stack: Path) -> Path:
    return stack / ".provisioner" / "files.db"


def test_an_empty_state_file_is_refused_and_left_empty(stack: Path) -> None:
    database(stack).parent.mkdir()
    database(stack).touch()
    outcome = invoke("plan", str(stack))
    assert outcome.code == 1
    assert "the file is empty, and a state file never is" in outcome.stderr
    assert database(stack).stat().st_size == 0


def test_a_state_emptied_after_an_apply_does_not_forget_it(stack: Path) -> None:
    assert invoke("apply", str(stack), "--auto-approve").code == 0
    database(stack).write_bytes(b"")
    for command in ("plan", "apply", "destroy", "show"):
        outcome = invoke(command, str(stack), "--auto-approve") if command in (
            "apply", "destroy") else invoke(command, str(stack))
        assert outcome.code == 1, command
        assert "the file is empty" in outcome.stderr


def test_a_foreign_sqlite_database_is_refused_and_not_extended(stack: Path) -> None:
    path = stack / "app.sqlite"
    with sqlite3.connect(path) as conn:
        conn.execute("CREATE TABLE users (name TEXT)")
    outcome = invoke("plan", str(stack), "--state", str(path))
    assert outcome.code == 1
    assert "an SQLite database that is not a provisioner state (its tables: users)" \
        in outcome.stderr
    with sqlite3.connect(path) as conn:
        tables = [row[0] for row in conn.execute("SELECT name FROM sqlite_master")]
    assert tables == ["users"]


def test_a_new_state_is_made_whole(stack: Path) -> None:
    assert invoke("plan", str(stack)).code == 0
    with sqlite3.connect(database(stack)) as conn:
        tables = {row[0] for row in conn.execute("SELECT name FROM sqlite_master")}
    assert {"schema_version", "applied", "journal"} <= tables
    leftovers = [p.name for p in database(stack).parent.iterdir() if p.suffix == ".new"]
    assert leftovers == []


@pytest.mark.parametrize(("table", "column", "command"), [
    ("applied", "spec", "plan"), ("applied", "attributes", "show"),
    ("outputs", "value", "show"), ("runs", "summary", "show"),
])
def test_damaged_json_in_the_state_is_a_plain_error(stack: Path, table: str, column: str,
                                                    command: str) -> None:
    write_stack(stack, """\
        guests:
          web: { provider: kvm, memory: 256MiB }
        outputs:
          name: ${guests.web.name}
        """)
    assert invoke("apply", str(stack), "--auto-approve").code == 0
    with sqlite3.connect(database(stack)) as conn:
        conn.execute(f"UPDATE {table} SET {column} = '{{not json'")
    outcome = invoke(command, str(stack))
    assert outcome.code == 1
    assert "the state holds a damaged" in outcome.stderr
    assert "internal error" not in outcome.text


def test_a_state_directory_and_file_open_to_others_are_made_private(stack: Path) -> None:
    assert invoke("plan", str(stack)).code == 0
    lock = database(stack).with_name("files.db.lock")
    database(stack).parent.chmod(0o777)
    database(stack).chmod(0o666)
    lock.chmod(0o666)
    assert invoke("apply", str(stack), "--auto-approve").code == 0  # takes the lock
    assert stat.S_IMODE(database(stack).parent.stat().st_mode) == 0o700
    assert stat.S_IMODE(database(stack).stat().st_mode) == 0o600
    assert stat.S_IMODE(lock.stat().st_mode) == 0o600


def test_a_directory_named_with_state_keeps_its_mode(stack: Path) -> None:
    shared = stack / "states"
    shared.mkdir(mode=0o770)
    shared.chmod(0o770)
    assert invoke("plan", str(stack), "--state", str(shared / "files.db")).code == 0
    assert stat.S_IMODE(shared.stat().st_mode) == 0o770
    assert stat.S_IMODE((shared / "files.db").stat().st_mode) == 0o600


def test_a_new_state_is_private_under_any_umask(stack: Path) -> None:
    previous = os.umask(0)
    try:
        assert invoke("plan", str(stack)).code == 0
    finally:
        os.umask(previous)
    assert stat.S_IMODE(database(stack).stat().st_mode) == 0o600
    assert stat.S_IMODE(database(stack).parent.stat().st_mode) == 0o700
