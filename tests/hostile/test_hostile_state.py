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


def with_state_path(stack: Path, where: str) -> None:
    write_stack(stack, f"""\
        state: {{ path: "{where}" }}
        guests:
          web: {{ provider: kvm, memory: 256MiB }}
        """)


def test_a_state_path_outside_the_stack_directory_is_refused_untouched(
        stack: Path, tmp_path_factory: pytest.TempPathFactory) -> None:
    """A stack's `state.path` could name any file: before, the runner chmod-ed and
    opened it (or created a database anywhere)."""
    precious = tmp_path_factory.mktemp("etc") / "passwd"
    precious.write_text("root:x:0:0:root:/root:/bin/bash\n")
    precious.chmod(0o644)
    with_state_path(stack, str(precious))
    outcome = invoke("plan", str(stack))
    assert outcome.code == 1
    assert f"state.path: {precious} is outside the directories provisioner may use files " \
        "from" in outcome.stderr
    assert stat.S_IMODE(precious.stat().st_mode) == 0o644
    assert precious.read_text() == "root:x:0:0:root:/root:/bin/bash\n"
    with_state_path(stack, str(precious.parent / "new.db"))
    assert invoke("plan", str(stack)).code == 1
    assert not (precious.parent / "new.db").exists()


def test_a_state_directory_linked_outside_is_refused(
        stack: Path, tmp_path_factory: pytest.TempPathFactory) -> None:
    elsewhere = tmp_path_factory.mktemp("elsewhere")
    elsewhere.chmod(0o755)
    (stack / ".provisioner").symlink_to(elsewhere)
    outcome = invoke("plan", str(stack))
    assert outcome.code == 1
    assert "(it leads to" in outcome.stderr
    assert list(elsewhere.iterdir()) == []
    assert stat.S_IMODE(elsewhere.stat().st_mode) == 0o755


@pytest.mark.parametrize("suffix", ["", "-wal", "-shm", ".lock"])
def test_a_state_file_or_sidecar_that_is_a_link_is_refused(
        stack: Path, tmp_path_factory: pytest.TempPathFactory, suffix: str) -> None:
    assert invoke("plan", str(stack)).code == 0
    target = tmp_path_factory.mktemp("elsewhere") / "precious"
    target.write_text("precious\n")
    target.chmod(0o644)
    member = database(stack).with_name("files.db" + suffix)
    member.unlink(missing_ok=True)
    member.symlink_to(target)
    outcome = invoke("apply", str(stack), "--auto-approve", "--state", str(database(stack)))
    assert outcome.code == 1
    assert f"files.db{suffix} is a symbolic link" in outcome.stderr
    assert target.read_text() == "precious\n"
    assert stat.S_IMODE(target.stat().st_mode) == 0o644


def test_a_foreign_file_is_not_made_private(stack: Path) -> None:
    path = stack / "notes.txt"
    path.write_text("not a database\n")
    path.chmod(0o644)
    outcome = invoke("plan", str(stack), "--state", str(path))
    assert outcome.code == 1
    assert stat.S_IMODE(path.stat().st_mode) == 0o644
