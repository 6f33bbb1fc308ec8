"""The real CLI on a stack written for one hostile-input case (tests/hostile).

Each case writes a stack whose provider block is libvirt's test driver started
from a private node file (``libvirt_node.node_uri``), runs ``provisioner`` as a
pipeline would (a subprocess, this interpreter, no terminal), and looks at the
exit code and what was printed.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import textwrap
from pathlib import Path

from support.libvirt_node import node_uri

HEADER = """\
apiVersion: provisioner/v1
stack: hostile
providers:
  kvm: {{ type: libvirt, uri: "{uri}" }}
"""


def write(directory: Path, body: str, uri: str | None = None) -> Path:
    """``stack.yaml`` in ``directory``: a libvirt block on a fresh test node (or
    ``uri``), then ``body`` (dedented)."""
    uri = uri or node_uri(directory)
    path = directory / "stack.yaml"
    path.write_text(HEADER.format(uri=uri) + textwrap.dedent(body))
    return path


def line_of(path: Path, text: str) -> int:
    """The 1-based line of ``path`` that holds ``text`` (the first)."""
    return next(number for number, line in enumerate(path.read_text().splitlines(), 1)
                if text in line)


def run(*args: str, cwd: Path | None = None,
        env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """``provisioner ARGS`` with this interpreter, in ``cwd`` (default: the temporary
    directory, so ``-m`` does not import a checkout from the current directory over
    the one PYTHONPATH names); 60 s at most."""
    return subprocess.run([sys.executable, "-m", "provisioner", *args],
                          cwd=cwd or tempfile.gettempdir(),
                          env=env or dict(os.environ), text=True, capture_output=True,
                          timeout=60, check=False)
