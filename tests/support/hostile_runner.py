"""The CLI run on stacks that name hostile files (tests/hostile, files and sizes).

``invoke`` runs the typer app in this process (fast: most cases); ``spawn`` runs
``python -m provisioner`` in a subprocess with a timeout and, if asked, a bound
on its address space, for the cases that could hang or eat memory if the fix
regressed (a FIFO, /dev/zero, an alias bomb) and those about the standard
streams. Both use a stack on libvirt's in-process test driver.
"""

from __future__ import annotations

import os
import resource
import subprocess
import sys
import textwrap
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from typer.testing import CliRunner

from support.libvirt_node import node_uri

HEADER = """\
apiVersion: provisioner/v1
stack: files
providers:
  kvm: {{ type: libvirt, uri: "{uri}" }}
"""
GUEST = """\
guests:
  web:
    provider: kvm
    memory: 256MiB
"""
SECRET = "canary-3f9a1c: a line of a file the stack must not read"


@dataclass(frozen=True)
class Outcome:
    code: int
    stdout: str
    stderr: str

    @property
    def text(self) -> str:
        return self.stdout + self.stderr


def write_stack(directory: Path, body: str = GUEST, name: str = "stack.yaml") -> Path:
    """A stack file in ``directory`` (made if missing): a libvirt block on a fresh test
    node, then ``body`` (dedented)."""
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / name
    path.write_text(HEADER.format(uri=node_uri(directory)) + textwrap.dedent(body))
    return path


def secret_file(directory: Path, name: str = "secret.txt") -> Path:
    """A file outside the stack's directory holding SECRET on several lines."""
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / name
    path.write_text(f"root: {SECRET}\n{SECRET}\nkey: {SECRET}\n")
    return path


def invoke(*args: str, env: dict[str, str] | None = None, stdin: str | None = None) -> Outcome:
    """The CLI in this process."""
    from provisioner.cli.app import app

    result = CliRunner().invoke(app, list(args), env=env, input=stdin)
    return Outcome(result.exit_code, result.stdout, result.stderr)


def spawn(*args: str, cwd: Path | None = None, env: dict[str, str] | None = None,
          timeout: float = 30, memory_mib: int | None = None,
          shell_redirect: str = "") -> Outcome:
    """``python -m provisioner ARGS`` in a subprocess; ``memory_mib`` bounds its address
    space (RLIMIT_AS); ``shell_redirect`` (such as ``<&-``) runs it through sh."""
    command = [sys.executable, "-m", "provisioner", *args]
    preexec: Callable[[], None] | None = None
    if memory_mib is not None:
        limit = memory_mib * 1024 * 1024

        def preexec() -> None:
            resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    if shell_redirect:
        quoted = " ".join(_quote(part) for part in command)
        command = ["/bin/sh", "-c", f"exec {quoted} {shell_redirect}"]
    result = subprocess.run(command, cwd=cwd, env=env or dict(os.environ), text=True,
                            capture_output=True, timeout=timeout, check=False,
                            preexec_fn=preexec)
    return Outcome(result.returncode, result.stdout, result.stderr)


def _quote(part: str) -> str:
    return "'" + part.replace("'", "'\"'\"'") + "'"
