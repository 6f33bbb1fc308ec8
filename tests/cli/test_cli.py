"""The real console script, run in subprocesses, as users and pipelines run it.

The hypervisor is libvirt's test driver: each process starts from the same
node file, so hypervisor state does not carry across processes, but the
SQLite state does.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator
from pathlib import Path

import pexpect
import pytest
from support.libvirt_node import node_uri, write_stack

ROOT = Path(__file__).resolve().parents[2]
COMMANDS = ["validate", "plan", "apply", "destroy", "show", "drift", "capacity", "graph", "schema",
            "providers", "import", "force-unlock", "state migrate"]
COMMANDS += ["snapshot create", "snapshot list", "snapshot revert", "snapshot delete"]
PROVISIONER = shutil.which("provisioner") or "provisioner"


def run(*args: str, cwd: Path | None = None, env: dict[str, str] | None = None,
        stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([PROVISIONER, *args], cwd=cwd, env=env, input=stdin, text=True,
                          capture_output=True, timeout=60, check=False)


@pytest.fixture
def stack_dir(tmp_path: Path) -> Iterator[Path]:
    uri = node_uri(tmp_path)
    write_stack(tmp_path, textwrap.dedent(f"""\
        apiVersion: provisioner/v1
        stack: clitest
        providers:
          kvm: {{ type: libvirt, uri: "{uri}" }}
        variables:
          cpus: {{ type: integer, default: 1 }}
        networks:
          lab: {{ provider: kvm, mode: nat, cidr: 10.9.0.0/24 }}
        guests:
          web:
            provider: kvm
            count: 2
            cpus: ${{var.cpus}}
            memory: 256MiB
            disks: [ {{ size: 1GiB }} ]
            networks: [ {{ network: lab }} ]
        outputs:
          names: ${{guests.web[*].name}}
        """))
    yield tmp_path


def test_help_lists_every_command_and_each_has_an_example() -> None:
    top = run("--help")
    assert top.returncode == 0
    for command in COMMANDS:
        assert command.split()[0] in top.stdout
        page = run(*command.split(), "--help")
        assert page.returncode == 0, page.stderr
        assert "Example: provisioner" in page.stdout, command
        assert "Exit codes" in page.stdout, command


def test_every_command_that_reads_a_stack_takes_its_variables(tmp_path: Path) -> None:
    # A variable without a default made `show` fail with "pass --var port=VALUE",
    # an option show did not have: a stack of such variables could not be shown.
    for command in COMMANDS:
        if command not in ("schema", "providers"):
            page = run(*command.split(), "--help")
            assert "--var NAME=VALUE" in page.stdout and "--var-file FILE" in page.stdout, command
    uri = node_uri(tmp_path)
    write_stack(tmp_path, textwrap.dedent(f"""\
        apiVersion: provisioner/v1
        stack: needsvar
        variables:
          memory: {{ description: no default }}
        providers:
          kvm: {{ type: libvirt, uri: "{uri}" }}
        guests:
          web: {{ provider: kvm, memory: "${{var.memory}}" }}
        """))
    applied = run("apply", str(tmp_path), "--auto-approve", "--var", "memory=256MiB")
    assert applied.returncode == 0, applied.stderr
    shown = run("show", str(tmp_path), "--var", "memory=256MiB")
    assert shown.returncode == 0, shown.stderr
    assert "guests.web" in shown.stdout
    unlocked = run("force-unlock", "0", str(tmp_path), "--yes", "--var", "memory=256MiB")
    assert "is not locked" in unlocked.stdout, unlocked.stderr


def test_python_dash_m_runs_the_same_cli() -> None:
    result = subprocess.run([sys.executable, "-m", "provisioner", "--version"], text=True,
                            capture_output=True, check=False)
    assert result.returncode == 0
    assert result.stdout.startswith("provisioner ")


def test_help_imports_no_hypervisor_library() -> None:
    probe = textwrap.dedent("""\
        import sys
        from provisioner.console import main
        sys.argv = ["provisioner", "--help"]
        try:
            main()
        except SystemExit:
            pass
        heavy = [m for m in ("libvirt", "proxmoxer", "pyVmomi", "networkx") if m in sys.modules]
        print("HEAVY=" + ",".join(heavy))
        """)
    result = subprocess.run([sys.executable, "-c", probe], text=True, capture_output=True,
                            check=True)
    assert "HEAVY=\n" in result.stdout


def test_validate_reports_every_problem_with_position_and_no_traceback(tmp_path: Path) -> None:
    write_stack(tmp_path, textwrap.dedent("""\
        apiVersion: provisioner/v1
        stack: bad
        providers:
          kvm: { type: libvirt }
        guests:
          web:
            provider: kvm
            cpu: 2
            memory: 2 GB!
        """))
    result = run("validate", str(tmp_path))
    assert result.returncode == 1
    assert "stack.yaml:8:5: guests.web.cpu: unknown key 'cpu'" in result.stderr
    assert "did you mean 'cpus'?" in result.stderr
    assert "stack.yaml:9:13: guests.web.memory:" in result.stderr
    assert "Traceback" not in result.stderr + result.stdout


def test_debug_shows_the_traceback(tmp_path: Path) -> None:
    result = run("validate", str(tmp_path / "missing.yaml"), "--debug")
    assert result.returncode == 1
    assert "Traceback" in result.stderr
    assert "no such file or directory" in result.stderr


def test_plan_detailed_exitcode_json_and_stats(stack_dir: Path) -> None:
    plain = run("plan", str(stack_dir), "--detailed-exitcode")
    assert plain.returncode == 2, plain.stderr
    assert "Plan: 3 to add, 0 to change, 0 to destroy." in plain.stdout
    as_json = run("plan", str(stack_dir), "--json", "--stats", "--var", "cpus=2")
    assert as_json.returncode == 0, as_json.stderr
    document = json.loads(as_json.stdout)
    assert document["format_version"] == "1"
    assert document["summary"] == {"add": 3, "change": 0, "destroy": 0}
    guest = next(c for c in document["changes"] if c["address"] == "guests.web-0")
    assert guest["after"]["cpus"] == 2
    assert "kvm (libvirt):" in as_json.stderr  # stats go to stderr beside JSON


def test_var_file_and_bad_var(stack_dir: Path) -> None:
    (stack_dir / "vars.yaml").write_text("cpus: 3\n")
    planned = run("plan", str(stack_dir / "stack.yaml"), "--json", "--var-file",
                  str(stack_dir / "vars.yaml"))
    assert json.loads(planned.stdout)["changes"][1]["after"]["cpus"] == 3
    wrong = run("plan", str(stack_dir / "stack.yaml"), "--var", "cpu=3")
    assert wrong.returncode == 1
    assert "did you mean 'cpus'?" in wrong.stderr
    typed = run("plan", str(stack_dir / "stack.yaml"), "--var", "cpus=many")
    assert typed.returncode == 1
    assert "not a integer" in typed.stderr or "not an integer" in typed.stderr


def test_apply_refuses_without_a_terminal_unless_auto_approved(stack_dir: Path) -> None:
    refused = run("apply", str(stack_dir), stdin="yes\n")
    assert refused.returncode == 1
    assert "refusing to apply without a terminal" in refused.stderr
    assert "--auto-approve" in refused.stderr
    applied = run("apply", str(stack_dir), "--auto-approve")
    assert applied.returncode == 0, applied.stderr
    assert "Apply complete: 3 created, 0 updated, 0 deleted." in applied.stdout
    assert 'names = ["web-0", "web-1"]' in applied.stdout
    shown = run("show", str(stack_dir), "--json")
    document = json.loads(shown.stdout)
    assert [r["address"] for r in document["resources"]] == [
        "networks.lab", "guests.web-0", "guests.web-1"]
    assert document["outputs"] == {"names": ["web-0", "web-1"]}
    assert document["runs"][0]["status"] == "ok"
    assert document["unresolved"] == []


@pytest.mark.parametrize(("answer", "code", "expected"), [
    ("no", 1, "Apply cancelled; nothing was changed."),
    ("yes", 0, "Apply complete: 3 created"),
])
def test_apply_asks_on_a_terminal(stack_dir: Path, answer: str, code: int,
                                  expected: str) -> None:
    child = pexpect.spawn(PROVISIONER, ["apply", str(stack_dir), "--no-color"],
                          encoding="utf-8", timeout=30, dimensions=(50, 200))
    child.expect("Only 'yes' is accepted")
    child.sendline(answer)
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == code
    assert expected in (child.before or "")


def test_destroy_refuses_without_a_terminal(stack_dir: Path) -> None:
    result = run("destroy", str(stack_dir))
    # a fresh test:/// process has nothing to delete: no question, nothing to refuse
    assert result.returncode == 0, result.stderr
    assert "No changes." in result.stdout


def test_a_second_apply_waits_for_the_lock_then_names_the_holder(stack_dir: Path) -> None:
    holder = subprocess.Popen(
        [sys.executable, "-c", textwrap.dedent(f"""\
            import sys, time
            from pathlib import Path
            from provisioner.state.local import SQLiteStore
            store = SQLiteStore(Path({str(stack_dir / '.provisioner' / 'clitest.db')!r}))
            with store.lock("apply", 0):
                print("locked", flush=True)
                time.sleep(60)
            """)],
        stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "locked"
        result = run("apply", str(stack_dir), "--auto-approve", "--lock-timeout", "0.5")
        assert result.returncode == 1
        assert "the stack is locked" in result.stderr
        assert f"pid {holder.pid}" in result.stderr
        assert "apply by" in result.stderr
    finally:
        holder.send_signal(signal.SIGKILL)
        holder.wait()
    after = run("apply", str(stack_dir), "--auto-approve", "--lock-timeout", "0.5")
    assert after.returncode == 0, after.stderr


def test_missing_library_names_the_pip_extra(stack_dir: Path, tmp_path_factory:
                                             pytest.TempPathFactory) -> None:
    blocker = tmp_path_factory.mktemp("block")
    (blocker / "libvirt.py").write_text(
        "raise ModuleNotFoundError(\"No module named 'libvirt'\", name='libvirt')\n")
    env = {**os.environ, "PYTHONPATH": str(blocker)}
    result = run("plan", str(stack_dir), env=env)
    assert result.returncode == 1
    assert "pip install 'provisioner[libvirt]'" in result.stderr
    assert run("validate", str(stack_dir), env=env).returncode == 0
    listed = run("providers", env=env)
    assert "libvirt" in listed.stdout


def test_graph_schema_and_providers(stack_dir: Path) -> None:
    valid = run("validate", str(stack_dir))
    assert valid.stdout == "Stack 'clitest' is valid: 1 network, 2 guests on 1 provider.\n"
    dot = run("graph", str(stack_dir))
    assert dot.returncode == 0 and dot.stdout.startswith("digraph")
    assert "networks.lab" in dot.stdout and "guests.web-1" in dot.stdout
    mermaid = run("graph", str(stack_dir), "--format", "mermaid")
    assert mermaid.stdout.startswith("flowchart")
    schema = run("schema")
    assert json.loads(schema.stdout) == json.loads(
        (ROOT / "schemas" / "stack.schema.json").read_text())
    providers = run("providers")
    assert "libvirt" in providers.stdout and "ready" in providers.stdout
    qemu = next(line for line in providers.stdout.splitlines() if line.startswith("qemu "))
    assert re.search(r"; accel auto: (kvm|tcg \(.+\))$", qemu), qemu


def test_after_apply_a_new_process_plans_no_changes_and_destroy_asks(stack_dir: Path) -> None:
    """The hypervisor is carried across processes by snapshotting the test driver."""
    from support.libvirt_node import snapshot_node

    from provisioner.engine import Engine
    from provisioner.stack.loader import load_stack

    class Quiet:
        def started(self, step: object) -> None: ...
        def finished(self, result: object) -> None: ...

    with Engine(load_stack(stack_dir)) as engine:  # state in .provisioner/, as the CLI's
        assert engine.apply(engine.plan(), Quiet()).ok
        snapshot_node(engine.providers()["kvm"].client.conn,  # type: ignore[attr-defined]
                      stack_dir / "node.xml")
    clean = run("plan", str(stack_dir), "--detailed-exitcode", "--stats")
    assert clean.returncode == 0, clean.stdout + clean.stderr
    assert clean.stdout.startswith("No changes.")
    assert "kvm (libvirt): 1 connect, 9 list" in clean.stdout
    refused = run("destroy", str(stack_dir))
    assert refused.returncode == 1
    assert "refusing to destroy without a terminal" in refused.stderr
    assert "Plan: 0 to add, 0 to change, 3 to destroy." in refused.stdout
    destroyed = run("destroy", str(stack_dir), "--auto-approve")
    assert destroyed.returncode == 0, destroyed.stderr
    assert "Destroy complete: 0 created, 0 updated, 3 deleted." in destroyed.stdout
    assert json.loads(run("show", str(stack_dir), "--json").stdout)["resources"] == []


def test_an_apply_whose_reader_goes_away_finishes_and_records_its_work(
        stack_dir: Path) -> None:
    """`provisioner apply ... | head -1`: the pipe closes after the first line; the apply
    must neither die with a BrokenPipeError half-way nor leave steps unrecorded."""
    process = subprocess.Popen([PROVISIONER, "apply", str(stack_dir), "--auto-approve"],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    assert process.stdout is not None and process.stderr is not None
    first = process.stdout.readline()
    process.stdout.close()
    errors = process.stderr.read()
    assert process.wait(timeout=60) == 0, errors
    assert first.startswith("provisioner will perform these actions")
    assert "BrokenPipe" not in errors and "internal error" not in errors, errors
    recorded = json.loads(run("show", str(stack_dir), "--json").stdout)["resources"]
    assert len(recorded) == 3


def _paused_apply(stack_dir: Path, point: str, marker: Path) -> subprocess.Popen[str]:
    """``provisioner apply`` at parallelism 1, waiting at ``point`` until ``marker``
    (which it creates there) is removed."""
    env = {**os.environ, "PROVISIONER_TEST_PAUSE_AT": point,
           "PROVISIONER_TEST_PAUSE_FILE": str(marker)}
    process = subprocess.Popen(
        [PROVISIONER, "apply", str(stack_dir), "--auto-approve", "--parallelism", "1"],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 60
    while not marker.exists() and process.poll() is None and time.monotonic() < deadline:
        time.sleep(0.02)
    assert marker.exists(), "the apply never reached the pause point"
    return process


def test_plan_and_show_during_an_apply_name_the_run_in_progress(
        stack_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> None:
    """Its calls in flight are not an interrupted run's: plan warns that the stack is
    being changed, show names the holder of the lock."""
    marker = tmp_path_factory.mktemp("pause") / "paused"
    process = _paused_apply(stack_dir, "after:create:guests.web-0", marker)
    try:
        planned = run("plan", str(stack_dir), "--json")
        shown = run("show", str(stack_dir))
        document = json.loads(run("show", str(stack_dir), "--json").stdout)
    finally:
        marker.unlink()
        out, err = process.communicate(timeout=60)
    assert process.returncode == 0, out + err
    warnings = json.loads(planned.stdout)["warnings"]
    assert any("another run holds the stack's lock (apply by" in w for w in warnings), warnings
    assert not any("interrupted run" in w for w in warnings), warnings
    assert document["lock"]["operation"] == "apply" and document["lock"]["pid"] == process.pid
    assert [e["address"] for e in document["unresolved"]] == ["guests.web-0"]
    assert "Locked by a run in progress: apply by" in shown.stdout
    assert "Provider calls in progress" in shown.stdout
    assert json.loads(run("show", str(stack_dir), "--json").stdout)["lock"] is None


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM])
def test_a_stop_signal_finishes_the_running_step_and_starts_no_other(
        stack_dir: Path, tmp_path_factory: pytest.TempPathFactory, signum: int) -> None:
    """Ctrl-C, or SIGTERM from a cancelled CI job: the step running then finishes and
    is recorded, no other starts, the run exits 1 and leaves nothing unresolved."""
    marker = tmp_path_factory.mktemp("pause") / "paused"
    process = _paused_apply(stack_dir, "before:create:guests.web-0", marker)
    process.send_signal(signum)
    time.sleep(0.2)  # the handler runs in the main thread, between its waits
    marker.unlink()
    out, err = process.communicate(timeout=60)
    assert process.returncode == 1, out + err
    assert f"Stopping ({signal.Signals(signum).name})" in err
    assert "guests.web-0: created" in out and "guests.web-1: create skipped (interrupted)" in out
    shown = json.loads(run("show", str(stack_dir), "--json").stdout)
    assert sorted(r["address"] for r in shown["resources"]) == ["guests.web-0", "networks.lab"]
    assert shown["unresolved"] == []


HEAVY_MODULES = ("pydantic", "yaml", "networkx", "libvirt", "proxmoxer", "pyVmomi", "rich",
                 "psycopg")


def test_help_imports_nothing_heavy() -> None:
    """`provisioner --help` starts at once: the stack models, YAML, the graph library
    and the hypervisor libraries load only when a command needs them."""
    result = subprocess.run([sys.executable, "-X", "importtime", "-m", "provisioner", "--help"],
                            capture_output=True, text=True, timeout=60, check=True)
    imported = {line.rsplit("|", 1)[1].strip() for line in result.stderr.splitlines()
                if line.startswith("import time:") and "|" in line}
    assert "provisioner.cli" in imported
    assert sorted(name for name in HEAVY_MODULES if name in imported) == []


def _imported_by(*args: str) -> set[str]:
    result = subprocess.run([sys.executable, "-X", "importtime", "-m", "provisioner", *args],
                            capture_output=True, text=True, timeout=60, check=False)
    assert result.returncode in (0, 2), result.stderr[-2000:]
    return {line.rsplit("|", 1)[1].strip() for line in result.stderr.splitlines()
            if line.startswith("import time:") and "|" in line}


def test_validate_imports_no_graph_or_hypervisor_library() -> None:
    """Validating reads YAML and builds the models; the graph library (only a cycle
    needs it), the hypervisor libraries, the HTTP client (only a download needs it:
    about 20 ms of a validate) and asyncio (pydantic's import would pull it in: about
    18 ms, cli/preload.py) stay unloaded."""
    imported = _imported_by("validate", str(ROOT / "stacks" / "demo"))
    assert {"pydantic", "yaml"} <= imported
    assert sorted(name for name in ("networkx", "libvirt", "proxmoxer", "pyVmomi", "psycopg",
                                    "http.client", "asyncio") if name in imported) == []


def test_a_plan_with_changes_loads_neither_networkx_nor_the_executor(stack_dir: Path) -> None:
    """A plan orders its steps without networkx (80-130 ms to import; it names cycles
    only) and does not load what only apply runs (issue 19)."""
    imported = _imported_by("plan", str(stack_dir), "--detailed-exitcode")
    assert "libvirt" in imported and "provisioner.plan.graph" in imported
    assert sorted(name for name in ("networkx", "asyncio", "http.client",
                                    "provisioner.apply.executor") if name in imported) == []
