"""The standard streams and the confirm prompt in the states a pipeline or a
careless user leaves them: closed, at end of input, full.

Before: ``apply <&-``, ``plan >&-`` and ``validate >&-`` ended in "internal error:
AttributeError"; ``plan > /dev/full`` in "internal error: OSError"; Ctrl-D at the
confirm prompt in "Aborted!" with no word on what was done.
"""

from __future__ import annotations

import os
import sys
import textwrap
from pathlib import Path

import pexpect
import pytest
from support.hostile_runner import invoke, spawn, write_stack
from support.libvirt_node import node_uri


@pytest.fixture
def stack(tmp_path: Path) -> Path:
    write_stack(tmp_path)
    return tmp_path


def test_apply_with_stdin_closed_refuses_to_ask(stack: Path) -> None:
    outcome = spawn("apply", str(stack), shell_redirect="<&-")
    assert outcome.code == 1
    assert "refusing to apply without a terminal to confirm on" in outcome.stderr
    assert "internal error" not in outcome.text


def test_end_of_input_at_the_confirm_prompt_cancels(stack: Path) -> None:
    child = pexpect.spawn(sys.executable, ["-m", "provisioner", "apply", str(stack),
                                           "--no-color"],
                          encoding="utf-8", timeout=30, dimensions=(50, 200),
                          env=dict(os.environ))
    child.expect("Only 'yes' is accepted")
    child.sendeof()
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 1
    assert "Apply cancelled; nothing was changed." in (child.before or "")
    assert "internal error" not in (child.before or "")


@pytest.mark.parametrize("command", ["plan", "validate", "show"])
def test_a_closed_stdout_is_said_once_and_the_command_runs(stack: Path, command: str) -> None:
    outcome = spawn(command, str(stack), shell_redirect=">&-")
    assert outcome.code == 0, outcome.stderr
    assert outcome.stderr == ("Warning: standard output is closed; what is printed there is "
                              "discarded\n")


def test_stdout_and_stderr_both_closed_still_run(stack: Path) -> None:
    outcome = spawn("validate", str(stack), shell_redirect=">&- 2>&-")
    assert outcome.code == 0


def test_a_full_stdout_is_a_plain_error_and_exit_1(stack: Path) -> None:
    outcome = spawn("plan", str(stack), shell_redirect="> /dev/full")
    assert outcome.code == 1
    assert outcome.stderr == ("Error: cannot write to standard output: No space left on "
                              "device; the rest of it is discarded\n")


def test_an_apply_whose_stdout_is_full_still_finishes_and_records(stack: Path) -> None:
    outcome = spawn("apply", str(stack), "--auto-approve", shell_redirect="> /dev/full")
    assert outcome.code == 1
    assert "cannot write to standard output" in outcome.stderr
    assert invoke("show", str(stack)).stdout.count("guests.web") == 1  # recorded


def test_show_needs_no_sensitive_variable(tmp_path: Path) -> None:
    (tmp_path / "stack.yaml").write_text(textwrap.dedent(f"""\
        apiVersion: provisioner/v1
        stack: files
        variables:
          password: {{ sensitive: true }}
        providers:
          kvm: {{ type: libvirt, uri: "{node_uri(tmp_path)}" }}
          pve:
            type: proxmox
            endpoint: https://pve1.lab.invalid:8006
            token_id: ci@pve!gitops
            token_secret: ${{var.password}}
        guests:
          web: {{ provider: kvm, memory: 256MiB }}
        """))
    assert "password" in invoke("plan", str(tmp_path)).stderr  # plan needs it
    outcome = invoke("show", str(tmp_path))
    assert outcome.code == 0, outcome.stderr
    assert "password" not in outcome.text
