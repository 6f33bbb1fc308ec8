"""Load a stack written as text after a fixed head (one libvirt test-driver block):
``HEAD`` is lines 1-4, so positions in a test count from its first line."""

from __future__ import annotations

from pathlib import Path

import pytest

from provisioner.errors import StackError, StackProblem
from provisioner.stack.loader import Stack, load_stack
from provisioner.stack.variables import VariableInputs

HEAD = """\
apiVersion: provisioner/v1
stack: lab
providers:
  kvm: {type: libvirt, uri: "test:///default"}
"""


def load(tmp_path: Path, text: str, inputs: VariableInputs | None = None) -> Stack:
    path = tmp_path / "stack.yaml"
    path.write_text(HEAD + text)
    return load_stack(path, inputs, {}, cwd=tmp_path)


def problems(tmp_path: Path, text: str) -> list[StackProblem]:
    """The problems of a stack that must not load (never a traceback)."""
    with pytest.raises(StackError) as caught:
        load(tmp_path, text)
    assert "Traceback" not in str(caught.value)
    return caught.value.problems
