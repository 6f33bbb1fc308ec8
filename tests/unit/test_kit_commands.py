"""The command runner of command-driven providers: argv in, exit code and output out,
calls counted, secrets hidden, and over SSH every argument arriving as it was given."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from provisioner.errors import ProviderError
from provisioner.providers.base import CallKind, ProviderStats
from provisioner.providers.kit.commands import Secret, shown
from provisioner.providers.kit.commands.local import LocalRunner
from provisioner.providers.kit.commands.ssh import SshRunner, remote_argv

TRICKY = ["two words", "it's", '"quoted"', "$HOME", "a;b", "*"]


def _echo_args() -> list[str]:
    return [sys.executable, "-c", "import json, sys; print(json.dumps(sys.argv[1:]))"]


def test_local_runner_passes_the_argv_as_is_and_counts_the_call() -> None:
    stats = ProviderStats()
    done = LocalRunner(stats, 10).run([*_echo_args(), *TRICKY], kind=CallKind.READ)
    assert done.ok
    assert json.loads(done.stdout) == TRICKY
    assert stats.calls == {CallKind.READ: 1}


def test_local_runner_reports_exit_code_and_stderr() -> None:
    done = LocalRunner(ProviderStats(), 10).run(
        [sys.executable, "-c", "import sys; sys.stderr.write('no such VM'); sys.exit(3)"],
        kind=CallKind.WRITE)
    assert (done.ok, done.code, done.stderr) == (False, 3, "no such VM")


def test_a_missing_program_and_a_timeout_are_provider_errors() -> None:
    runner = LocalRunner(ProviderStats(), 10)
    with pytest.raises(ProviderError, match="no such program"):
        runner.run(["/nonexistent/VBoxManage", "list", "vms"], kind=CallKind.LIST)
    with pytest.raises(ProviderError, match=r"did not finish within 0\.2 s"):
        runner.run([sys.executable, "-c", "import time; time.sleep(5)"], kind=CallKind.READ,
                   timeout=0.2)


def test_secrets_are_shown_as_stars_but_reach_the_program() -> None:
    argv = [*_echo_args(), "--password", Secret("hunter2")]
    assert shown(argv).endswith("--password ***")
    done = LocalRunner(ProviderStats(), 10).run(argv, kind=CallKind.WRITE)
    assert json.loads(done.stdout) == ["--password", "hunter2"]
    assert "hunter2" not in " ".join(done.argv)


def test_remote_argv_quotes_for_the_remote_shell() -> None:
    argv = remote_argv(["ssh"], "ana@vbox-host", ["VBoxManage", "startvm", "my vm"], 5)
    assert argv[:1] == ["ssh"] and "BatchMode=yes" in argv
    assert argv[-3:] == ["ana@vbox-host", "--", "VBoxManage startvm 'my vm'"]


def _fake_ssh(tmp_path: Path) -> Path:
    """An ``ssh`` that runs the remote command with sh here, as sshd would."""
    program = tmp_path / "ssh"
    program.write_text(f"#!{sys.executable}\nimport subprocess, sys\n"
                       "args = sys.argv[1:]\nhost = args[args.index('--') - 1]\n"
                       "if host == 'down': sys.stderr.write('ssh: connect to host down port 22:"
                       " Connection refused\\n'); sys.exit(255)\n"
                       "sys.exit(subprocess.call(['sh', '-c', args[-1]]))\n", encoding="utf-8")
    program.chmod(0o755)
    return program


def test_ssh_runner_delivers_every_argument_intact(tmp_path: Path) -> None:
    runner = SshRunner(ProviderStats(), 10, "vbox-host", ssh=[str(_fake_ssh(tmp_path))])
    done = runner.run([*_echo_args(), *TRICKY], kind=CallKind.READ)
    assert json.loads(done.stdout) == TRICKY


def test_ssh_runner_writes_files_and_names_an_unreachable_host(tmp_path: Path) -> None:
    ssh = [str(_fake_ssh(tmp_path))]
    stats = ProviderStats()
    SshRunner(stats, 10, "vbox-host", ssh=ssh).write_file(
        str(tmp_path / "vm dir" / "cidata.iso"), b"\x00ISO")
    assert (tmp_path / "vm dir" / "cidata.iso").read_bytes() == b"\x00ISO"
    assert stats.calls == {CallKind.WRITE: 1}
    with pytest.raises(ProviderError, match=r"ssh to down failed: .*Connection refused"):
        SshRunner(ProviderStats(), 10, "down", ssh=ssh).run(["true"], kind=CallKind.READ)
