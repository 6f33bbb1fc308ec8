"""The quick check's parts (provisioner/quick): which command lines it takes, what
the recorder counts as a run's inputs and what makes it refuse a receipt, the
receipt file, and the lock test. The whole, through the command line on a libvirt
host that changes between runs: tests/integration/test_quick_check_libvirt.py."""

from __future__ import annotations

import fcntl
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from provisioner.quick import inputs
from provisioner.quick.receipt import Receipt, load, run_key, save
from provisioner.quick.session import eligible, locks_free


@pytest.mark.parametrize(("argv", "taken"), [
    (["plan"], True),
    (["plan", "stacks/demo", "--no-color"], True),
    (["apply", ".", "--auto-approve", "--var", "a=1", "--env", "prod"], True),
    (["plan", "--detailed-exitcode", "--var-file", "v.yaml", "."], True),
    (["plan", ".", "--var"], False),  # a flag without its value: typer says so
    (["plan", ".", "--json"], False),
    (["plan", ".", "--out", "x.plan"], False),
    (["plan", ".", "--target", "guests.a"], False),
    (["apply", "a", "b"], False),
    (["destroy", ".", "--auto-approve"], False),
    (["validate", "."], True),
    (["show", "."], False),
    ([], False),
])
def test_the_command_lines_it_takes(argv: list[str], taken: bool) -> None:
    assert eligible(argv) is taken


@pytest.fixture
def recorder() -> Iterator[inputs.Recorder]:
    found = inputs.Recorder()
    found.start()
    try:
        yield found
    finally:
        found.stop()


def test_it_records_what_a_run_reads_lists_and_looks_at(tmp_path: Path) -> None:
    read = tmp_path / "stack.yaml"
    read.write_text("apiVersion: provisioner/v1\n")
    recorder = inputs.Recorder()
    recorder.start()
    try:
        assert read.read_text().startswith("apiVersion")
        _look_around(tmp_path)
    finally:
        recorder.stop()
    assert recorder.inputs["files"] == {str(read): inputs.file_digest(str(read))}
    assert recorder.inputs["listings"] == {str(tmp_path): inputs.listing_digest(str(tmp_path))}
    assert recorder.inputs["stats"][str(tmp_path / "env" / "prod.yaml")] == "missing/missing"
    assert recorder.refused is None


def _look_around(directory: Path) -> None:
    assert sorted(os.listdir(directory)) == ["stack.yaml"]
    assert not (directory / "env" / "prod.yaml").exists()


def test_a_refused_run_stops_recording(recorder: inputs.Recorder, tmp_path: Path) -> None:
    subprocess.run([sys.executable, "-c", "pass"], check=True)
    (tmp_path / "seen.yaml").write_text("x: 1\n")
    assert str(tmp_path / "seen.yaml") not in recorder.inputs["files"]
    assert os.stat is inputs._ORIGINAL["stat"]


def test_a_large_file_counts_by_size_time_and_inode(tmp_path: Path) -> None:
    image = tmp_path / "disk.qcow2"
    image.write_bytes(b"\0" * (inputs.WHOLE + 1))
    before = inputs.file_digest(str(image))
    assert before.startswith(f"large {inputs.WHOLE + 1} ")
    os.utime(image, ns=(1, 1))
    assert inputs.file_digest(str(image)) != before


def test_a_file_that_appears_or_changes_reads_differently(tmp_path: Path) -> None:
    path = str(tmp_path / "more.yaml")
    before = inputs.current({"files": [path], "stats": [path], "listings": [str(tmp_path)]})
    Path(path).write_text("x: 1\n")
    after = inputs.current({"files": [path], "stats": [path], "listings": [str(tmp_path)]})
    assert all(before[kind] != after[kind] for kind in before)


@pytest.mark.parametrize("reach", ["subprocess", "write"])
def test_a_run_that_reaches_beyond_its_files_gets_no_receipt(
        recorder: inputs.Recorder, tmp_path: Path, reach: str) -> None:
    if reach == "subprocess":
        subprocess.run([sys.executable, "-c", "pass"], check=True)
        assert recorder.refused == "subprocess.Popen"
    else:
        (tmp_path / "inventory.ini").write_text("[all]\n")
        assert recorder.refused == f"wrote {tmp_path / 'inventory.ini'}"


def test_a_lock_file_written_is_no_reason_to_refuse(
        recorder: inputs.Recorder, tmp_path: Path) -> None:
    os.close(os.open(tmp_path / "state.db.lock", os.O_RDWR | os.O_CREAT, 0o600))
    assert recorder.refused is None


def test_stopping_gives_os_stat_back() -> None:
    original = os.stat
    recorder = inputs.Recorder()
    recorder.start()
    assert os.stat is not original
    recorder.stop()
    assert os.stat is original and os.lstat is inputs._ORIGINAL["lstat"]


def _receipt() -> Receipt:
    return Receipt("k" * 64, {"files": ["/a"]}, [("libvirt", {"uri": "qemu:///system"})],
                   "d" * 64, True, [("out", "No changes.\n")], 0)


def test_a_receipt_is_written_private_and_read_back(tmp_path: Path) -> None:
    path = str(tmp_path / "quick" / "r.receipt")
    save(path, _receipt())
    assert os.stat(path).st_mode & 0o777 == 0o600
    found = load(path)
    assert found is not None and found.as_dict() == _receipt().as_dict()


@pytest.mark.parametrize("damage", ["truncated", "other format", "garbage"])
def test_a_damaged_receipt_is_no_receipt(tmp_path: Path, damage: str) -> None:
    import marshal

    path = tmp_path / "r.receipt"
    save(str(path), _receipt())
    whole = path.read_bytes()
    path.write_bytes({"truncated": whole[: len(whole) // 2],
                      "other format": marshal.dumps(("another format", {})),
                      "garbage": b"\x00\xff not marshal"}[damage])
    assert load(str(path)) is None


def test_the_key_follows_the_command_line_and_the_interpreters_variables(
        monkeypatch: pytest.MonkeyPatch) -> None:
    key = run_key(["plan", "."])
    assert run_key(["plan", "."]) == key
    assert run_key(["plan", ".", "--no-color"]) != key
    monkeypatch.setenv("OLDPWD", "/elsewhere")  # a shell's bookkeeping: not an input
    assert run_key(["plan", "."]) == key
    monkeypatch.setenv("LC_ALL", "C")  # the output's encoding
    assert run_key(["plan", "."]) != key


def test_the_variables_a_run_reads_are_its_inputs(
        recorder: inputs.Recorder, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PVE_TOKEN", "s3cret")
    monkeypatch.delenv("UNSET_ONE", raising=False)
    recorder.inputs["environment"].clear()  # (monkeypatch's own reads)
    assert os.environ.get("PVE_TOKEN") == "s3cret" and "UNSET_ONE" not in os.environ
    read = recorder.inputs["environment"]
    assert read["UNSET_ONE"] == inputs.MISSING
    assert read["PVE_TOKEN"] == inputs.environment_digest("PVE_TOKEN") != inputs.MISSING
    assert "s3cret" not in read["PVE_TOKEN"] and "*" not in read
    assert dict(os.environ)  # going through all of them
    assert "*" in read


def test_a_held_state_lock_is_seen(tmp_path: Path) -> None:
    database = str(tmp_path / "state.db")
    assert locks_free([database])  # no lock file: nobody holds it
    descriptor = os.open(database + ".lock", os.O_RDWR | os.O_CREAT, 0o600)
    try:
        assert locks_free([database])
        fcntl.flock(descriptor, fcntl.LOCK_EX)
        child = subprocess.run([sys.executable, "-c", "from provisioner.quick.session import "
                                f"locks_free; print(locks_free([{database!r}]))"],
                               capture_output=True, text=True, check=True)
        assert child.stdout.strip() == "False"
    finally:
        os.close(descriptor)


def test_a_run_that_loaded_postgresql_gets_no_receipt(monkeypatch: pytest.MonkeyPatch,
                                                       tmp_path: Path) -> None:
    """libpq connects in C, where no audit hook sees it: a PostgreSQL state (or
    another stack's) cannot be checked again, so no receipt."""
    from provisioner.quick.session import QuickRun

    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    monkeypatch.setitem(sys.modules, "psycopg", sys)
    run = QuickRun(["plan", "."])
    run.probes = []
    run.recorder = inputs.Recorder()  # (as start() makes it; nothing recorded)
    assert run._no_receipt(0) == "the run loaded a client whose reads are not seen " \
                                 "(PostgreSQL)"
    from provisioner.quick.session import UNSEEN_CLIENTS

    for name in [n for n in sys.modules if n.partition(".")[0] in UNSEEN_CLIENTS]:
        monkeypatch.delitem(sys.modules, name)  # (as other tests of this process left them)
    assert run._no_receipt(0) == ""  # (no probe to read: a stack without providers)
    assert list((tmp_path / "provisioner" / "quick").glob("*.receipt"))


def test_a_plans_receipt_lives_beside_the_stacks_state(tmp_path: Path,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    from provisioner.quick.receipt import location
    from provisioner.quick.session import STATE_DIRECTORY, state_directory
    from provisioner.state.backends import STATE_DIRECTORY as STATES

    assert STATE_DIRECTORY == STATES
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    stack = tmp_path / "lab"
    stack.mkdir()
    plan = ["plan", str(stack), "--no-color"]
    assert location(plan, state_directory(plan)).startswith(str(tmp_path / "cache"))
    (stack / ".provisioner").mkdir()  # (the first apply made it)
    assert location(plan, state_directory(plan)).startswith(str(stack / ".provisioner"))
    validate = ["validate", str(stack)]
    assert location(validate, state_directory(validate)).startswith(str(tmp_path / "cache"))
