"""The quick no-change check (provisioner/quick), through the command line as a user
runs it (a new process each time), on a libvirt test:/// host carried between the
processes in its node file (support.libvirt_node.snapshot_node).

A receipt answers only the third identical run (the second confirms the first's
reading), and never once anything the plan reads has changed: the host (here its
node file, which libvirt reads, not provisioner), the stack's files and
directory, an environment variable the run reads, or the state's lock. Each such
change is planned in full and shows. PROVISIONER_QUICK=explain says which way each run went.
"""

from __future__ import annotations

import fcntl
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from support.libvirt_node import node_uri, snapshot_node, write_stack

from provisioner.apply.progress import CollectingProgress
from provisioner.engine import Engine
from provisioner.stack.loader import load_stack
from provisioner.state.local import SQLiteStore

pytestmark = pytest.mark.simulator_only(
    "changes the host by rewriting libvirt's test-driver node file between runs",
    provider="libvirt")

STACK = """apiVersion: provisioner/v1
stack: quick
providers:
  kvm: { type: libvirt, uri: "URI", pool: default }
guests:
  web:
    provider: kvm
    count: 2
    cpus: 1
    memory: 128MiB
    disks: [ { size: 1GiB } ]
"""
ANSWERED = "quick check: answered from the receipt"
NO_CHANGES = "No changes. The hypervisors match the stack."


@dataclass
class Run:
    code: int
    out: str
    quick: str


@dataclass
class Lab:
    root: Path
    node: Path
    cache: Path

    def run(self, *args: str, env: dict[str, str] | None = None) -> Run:
        environ = {**os.environ, "XDG_CACHE_HOME": str(self.cache),
                   "PROVISIONER_QUICK": "explain", **(env or {})}
        done = subprocess.run([sys.executable, "-m", "provisioner", *args], check=False,
                              cwd=self.root,
                              env=environ, capture_output=True, text=True, timeout=120)
        said = [line for line in done.stderr.splitlines() if line.startswith("quick check:")]
        return Run(done.returncode, done.stdout, said[0] if said else "")

    def plan(self, env: dict[str, str] | None = None) -> Run:
        return self.run("plan", ".", "--no-color", env=env)

    def answered_after_two_runs(self) -> Run:
        runs = [self.plan() for _ in range(3)]
        assert [r.quick for r in runs] == [
            "quick check: running in full: no receipt",
            "quick check: running in full: the receipt is not confirmed yet (this run confirms it)",
            ANSWERED], [r.quick for r in runs]
        assert {(r.code, r.out) for r in runs} == {(0, NO_CHANGES + "\n")}
        return runs[-1]

    def receipts(self) -> list[Path]:
        """A plan's beside the state, a validate's in the cache."""
        return sorted([*(self.root / ".provisioner" / "quick").glob("*.receipt"),
                       *(self.cache / "provisioner" / "quick").glob("*.receipt")])


@pytest.fixture
def lab(tmp_path: Path) -> Iterator[Lab]:
    uri = node_uri(tmp_path)
    stack_file = write_stack(tmp_path, STACK.replace("URI", uri))
    state = SQLiteStore(tmp_path / ".provisioner" / "quick.db")
    with Engine(load_stack(stack_file), state) as engine:
        result = engine.apply(engine.plan(), CollectingProgress())
        assert result.ok, [r.message for r in result.results]
        snapshot_node(engine.providers()["kvm"].client.conn,  # type: ignore[attr-defined]
                      tmp_path / "node.xml")
    # the cache outside the stack's directory (as ~/.cache is): a directory made
    # there would change the listing a plan reads
    yield Lab(tmp_path, tmp_path / "node.xml", tmp_path.parent / f"{tmp_path.name}-cache")


def test_the_third_identical_plan_is_answered_from_the_receipt(lab: Lab) -> None:
    lab.answered_after_two_runs()
    assert lab.plan().quick == ANSWERED
    assert len(lab.receipts()) == 1


def test_apply_with_nothing_to_do_is_answered_too(lab: Lab) -> None:
    runs = [lab.run("apply", ".", "--auto-approve", "--no-color") for _ in range(3)]
    assert runs[-1].quick == ANSWERED
    assert {(r.code, r.out) for r in runs} == {(0, NO_CHANGES + "\n")}


def _edit(path: Path, pattern: str, replacement: str) -> None:
    text = path.read_text()
    changed = re.sub(pattern, replacement, text, count=1, flags=re.S)
    assert changed != text, f"{pattern} is not in {path}"
    path.write_text(changed)


HOST_CHANGES = {
    "a vCPU added to a guest's definition": (r">1</vcpu>", ">2</vcpu>", "cpus"),
    "a guest's memory": (r"<memory unit='KiB'>131072</memory>(\s*)<currentMemory unit='KiB'>"
                         r"131072</currentMemory>", "<memory unit='KiB'>262144</memory>\\1"
                         "<currentMemory unit='KiB'>262144</currentMemory>", "memory"),
    "a guest gone": (r"<domain type=[^>]*>\s*<name>web-0</name>.*?</domain>", "", "create"),
}


@pytest.mark.parametrize("change", sorted(HOST_CHANGES))
def test_a_change_on_the_host_is_planned_in_full_and_shows(lab: Lab, change: str) -> None:
    lab.answered_after_two_runs()
    pattern, replacement, shown = HOST_CHANGES[change]
    _edit(lab.node, pattern, replacement)
    after = lab.plan()
    assert after.quick == ("quick check: running in full: a file, variable, state or host "
                           "the run reads has changed")
    assert NO_CHANGES not in after.out and shown in after.out, after.out


def test_an_edited_stack_file_is_planned_in_full(lab: Lab) -> None:
    lab.answered_after_two_runs()
    _edit(lab.root / "stack.yaml", r"cpus: 1", "cpus: 2")
    after = lab.plan()
    assert after.quick.endswith("has changed") and "cpus" in after.out, after


def test_a_new_file_in_the_stack_directory_is_planned_in_full(lab: Lab) -> None:
    lab.answered_after_two_runs()
    (lab.root / "more.yaml").write_text(
        "apiVersion: provisioner/v1\n"
        "networks:\n  lab: { provider: kvm, mode: nat, cidr: 10.77.0.0/24 }\n")
    after = lab.plan()
    assert after.quick.endswith("has changed")
    assert NO_CHANGES not in after.out and "networks.lab" in after.out, after.out


def test_a_variable_the_run_reads_counts_and_one_it_does_not_read_does_not(lab: Lab) -> None:
    lab.answered_after_two_runs()
    assert lab.plan(env={"SOME_SETTING": "1"}).quick == ANSWERED  # (a shell's, say)
    after = lab.plan(env={"PROVISIONER_DEBUG": "0"})  # read by every command
    assert after.quick == ("quick check: running in full: a file, variable, state or host "
                           "the run reads has changed")
    assert after.out == NO_CHANGES + "\n"
    changed_key = lab.plan(env={"LC_ALL": "C.UTF-8"})  # the interpreter's: in the key
    assert changed_key.quick == ("quick check: running in full: the command, directory, "
                                 "environment or code differ from the receipt's")


def test_a_state_locked_by_another_run_is_planned_in_full(lab: Lab) -> None:
    lab.answered_after_two_runs()
    descriptor = os.open(lab.root / ".provisioner" / "quick.db.lock", os.O_RDWR | os.O_CREAT)
    try:
        fcntl.flock(descriptor, fcntl.LOCK_EX)
        assert lab.plan().quick == ("quick check: running in full: another run holds the "
                                    "state's lock")
    finally:
        os.close(descriptor)
    assert lab.plan().quick == ANSWERED


def test_a_plan_with_changes_writes_no_receipt(lab: Lab) -> None:
    _edit(lab.root / "stack.yaml", r"cpus: 1", "cpus: 2")
    runs = [lab.plan() for _ in range(3)]
    assert all("cpus" in r.out and r.quick != ANSWERED for r in runs)
    assert lab.receipts() == []


def test_switched_off_it_reads_and_writes_no_receipt(lab: Lab) -> None:
    runs = [lab.plan(env={"PROVISIONER_QUICK": "0"}) for _ in range(3)]
    assert [r.quick for r in runs] == ["", "", ""]
    assert lab.receipts() == []


def test_a_receipt_holds_no_value_of_the_environment_or_of_a_variable(lab: Lab) -> None:
    secret = "s3cret-4f9a1c-do-not-keep"
    for _ in range(3):
        assert lab.plan(env={"SOME_TOKEN": secret}).out == NO_CHANGES + "\n"
    (receipt,) = lab.receipts()
    assert secret.encode() not in receipt.read_bytes()
    assert receipt.stat().st_mode & 0o077 == 0


def test_a_repeated_validate_is_answered_until_a_file_changes(lab: Lab) -> None:
    """validate reads files only: the run after the first records them, and the
    third is answered."""
    runs = [lab.run("validate", ".") for _ in range(3)]
    assert [r.quick for r in runs] == [
        "quick check: running in full: no receipt",
        "quick check: running in full: the receipt is not confirmed yet (this run confirms it)",
        ANSWERED]
    assert runs[0].out == runs[2].out and "is valid" in runs[2].out
    _edit(lab.root / "stack.yaml", r"count: 2", "count: 3")
    after = lab.run("validate", ".")
    assert after.quick.endswith("has changed") and after.out != runs[0].out


def test_an_answered_run_imports_neither_typer_nor_pydantic(lab: Lab) -> None:
    """What makes it quick: the console script answers before the command line and
    the stack's models are imported."""
    lab.answered_after_two_runs()
    probe = ("import sys\n"
             "from provisioner.console import main\n"
             "sys.argv = ['provisioner', 'plan', '.', '--no-color']\n"
             "try:\n    main()\nexcept SystemExit as exc:\n    code = exc.code\n"
             "heavy = [m for m in ('typer', 'pydantic', 'yaml', 'provisioner.cli') "
             "if m in sys.modules]\n"
             "print(f'CODE={code} HEAVY={\",\".join(heavy)}')\n")
    done = subprocess.run([sys.executable, "-c", probe], cwd=lab.root, capture_output=True,
                          text=True, check=True,
                          env={**os.environ, "XDG_CACHE_HOME": str(lab.cache),
                               "PROVISIONER_QUICK": "explain"})
    assert ANSWERED in done.stderr, done.stderr
    assert done.stdout.endswith("CODE=0 HEAVY=\n"), done.stdout
