"""``provisioner validate`` (and ``graph``) check a stack without contacting anything.

So they need no secret: a token left unset in the environment is reported by
the commands that connect, not by these. Run as the real console script, in
subprocesses, as a pipeline runs it.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import textwrap
from pathlib import Path

import pytest

PROVISIONER = shutil.which("provisioner") or "provisioner"
PVE_STACK = """\
apiVersion: provisioner/v1
stack: lab
providers:
  pve:
    type: proxmox
    endpoint: https://pve1.lab.invalid:8006
    token_id: ci@pve!gitops
    token_secret: {secret}
variables:
  {variables}
guests:
  db: {{ provider: pve, node: pve1, memory: 1GiB }}
"""


def run(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([PROVISIONER, *args], env=env, text=True, capture_output=True,
                          timeout=60, check=False)


def environment(**extra: str) -> dict[str, str]:
    """This process's environment without any secret, plus ``extra``."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PVE_", "VSPHERE_"))}
    return env | extra


def write(directory: Path, secret: str, variables: str = "{}") -> Path:
    (directory / "stack.yaml").write_text(PVE_STACK.format(secret=secret, variables=variables))
    return directory


def test_validate_and_graph_need_no_secret_from_the_environment(tmp_path: Path) -> None:
    stack = str(write(tmp_path, "${env.PVE_TOKEN_SECRET}"))
    valid = run("validate", stack, env=environment())
    assert (valid.returncode, valid.stderr) == (0, "")
    assert valid.stdout == "Stack 'lab' is valid: 1 guest on 1 provider.\n"
    graph = run("graph", stack, env=environment())
    assert graph.returncode == 0, graph.stderr
    assert "guests.db" in graph.stdout


@pytest.mark.parametrize("command", ["plan", "apply", "destroy", "drift", "capacity"])
def test_commands_that_connect_name_the_missing_secret(tmp_path: Path, command: str) -> None:
    stack = str(write(tmp_path, "${env.PVE_TOKEN_SECRET}"))
    result = run(command, stack, env=environment())
    assert result.returncode == 1
    assert ("stack.yaml:8:19: providers.pve.token_secret: environment variable "
            "PVE_TOKEN_SECRET is not set") in result.stderr
    assert "export PVE_TOKEN_SECRET=..." in result.stderr
    assert "Traceback" not in result.stderr


def test_a_secret_written_in_the_stack_is_still_refused_by_validate(tmp_path: Path) -> None:
    result = run("validate", str(write(tmp_path, "s3cr3t-t0ken")), env=environment())
    assert result.returncode == 1
    assert ("stack.yaml:8:19: providers.pve.token_secret: a secret written in the stack file "
            "would end up in git") in result.stderr
    assert "s3cr3t-t0ken" not in result.stdout + result.stderr


def test_a_sensitive_variable_without_value_is_needed_only_to_connect(tmp_path: Path) -> None:
    stack = str(write(tmp_path, "${var.token}", "token: { sensitive: true }"))
    assert run("validate", stack, env=environment()).returncode == 0
    plan = run("plan", stack, env=environment())
    assert plan.returncode == 1
    assert "variables.token: variable 'token' has no value" in plan.stderr


def test_validate_still_needs_what_shapes_the_stack(tmp_path: Path) -> None:
    """Only secrets may be missing: an unset variable that gives a size or an
    address is checked like any value, so it must be set."""
    write(tmp_path, "${env.PVE_TOKEN_SECRET}")
    text = (tmp_path / "stack.yaml").read_text().replace("memory: 1GiB", "memory: \"${env.MEM}\"")
    (tmp_path / "stack.yaml").write_text(text)
    result = run("validate", str(tmp_path), env=environment())
    assert result.returncode == 1
    assert "guests.db.memory: environment variable MEM is not set" in result.stderr
    assert "PVE_TOKEN_SECRET" not in result.stderr


def test_validate_verbose_names_the_files_it_read_and_skipped(tmp_path: Path) -> None:
    write(tmp_path, "${env.PVE_TOKEN_SECRET}")
    (tmp_path / "db.net.yaml").write_text("network: {version: 2}\n")
    (tmp_path / "owners.yaml").write_text("team: db\n")
    text = (tmp_path / "stack.yaml").read_text().replace(
        "memory: 1GiB", "memory: 1GiB, cloud_init: { network_config: db.net.yaml }")
    (tmp_path / "stack.yaml").write_text(text)
    quiet = run("validate", str(tmp_path), env=environment())
    assert quiet.stdout == "Stack 'lab' is valid: 1 guest on 1 provider.\n", quiet.stderr
    verbose = run("validate", "-v", str(tmp_path), env=environment())
    assert verbose.returncode == 0, verbose.stderr
    assert verbose.stdout == textwrap.dedent("""\
        Stack files: stack.yaml
        Not stack files (skipped):
          db.net.yaml: cloud_init.network_config of guests.db
          owners.yaml: no apiVersion, and no section of a stack
        Stack 'lab' is valid: 1 guest on 1 provider.
        """)
