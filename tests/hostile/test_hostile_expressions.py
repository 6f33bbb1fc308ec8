"""Malformed or impossible expressions are errors at file:line:col, never text.

Before: ``"${env.HOME"`` and ``"${var.x"`` were taken literally; a default of
``"${var.d}"`` landed in the plan as that text; ``"x${guests.web[99].name}y"`` on a
guest of count 2 rendered ``"xNoney"`` with a warning that the guest was not
applied; a list inside text was written as a Python repr (``['a', 'b']``).
"""

from __future__ import annotations

from pathlib import Path

import pytest
from support.hostile_cli import line_of, run, write

GUEST = """\
variables:
  names: {{ default: [a, b] }}
  settings: {{ default: {{ a: 1 }} }}
  d: {{ default: x }}
  {variable}
guests:
  web:
    provider: kvm
    count: 2
    memory: 256MiB
    disks: [ {{ size: 1GiB }} ]
    {field}
outputs:
  {output}
"""


def stack(field: str = "", variable: str = "", output: str = "n: ${guests.web[*].name}") -> str:
    return GUEST.format(field=field, variable=variable, output=output)


CASES = {
    "an environment variable left open": (
        stack(field='image: "${env.HOME"'), "image:", "guests.web.image",
        "'${env.HOME' is not closed: an expression ends with '}'"),
    "a variable left open inside text": (
        stack(field='image: "base-${var.d"'), "image:", "guests.web.image",
        "'${var.d' is not closed"),
    "a default that is an expression": (
        stack(variable='e: { default: "${var.d}" }'), "e: {", "variables.e.default",
        "a default is a value, not an expression ('${var.d}')"),
    "an expression inside a list default": (
        stack(variable='e: { default: [ok, "${env.HOME}"] }'), "e: {", "variables.e.default",
        "a default is a value, not an expression ('${env.HOME}')"),
    "a list inside text": (
        stack(field='image: "base-${var.names}"'), "image:", "guests.web.image",
        "'${var.names}' is a list, which cannot be part of a text"),
    "a map inside text": (
        stack(field='image: "base-${var.settings}"'), "image:", "guests.web.image",
        "'${var.settings}' is a map, which cannot be part of a text"),
    "an index past count": (
        stack(output='x: "x${guests.web[99].name}y"'), '  x: "', "outputs.x",
        "'${guests.web[99].name}': index 99 is out of range (guests.web has 2 instances)"),
    "an output left open": (
        stack(output='y: "${guests.web[1].name"'), '  y: "', "outputs.y",
        "'${guests.web[1].name' is not closed"),
}


@pytest.mark.parametrize("case", CASES, ids=list(CASES))
def test_a_broken_expression_is_an_error_at_its_line(tmp_path: Path, case: str) -> None:
    body, marker, key, message = CASES[case]
    path = write(tmp_path, body)
    result = run("validate", str(tmp_path))
    assert result.returncode == 1, result.stdout
    assert f"stack.yaml:{line_of(path, marker)}:" in result.stderr, result.stderr
    assert f"{key}: {message}" in result.stderr, result.stderr


def test_escaped_and_whole_expressions_still_work(tmp_path: Path) -> None:
    write(tmp_path, stack(field='image: "$${literal}"', variable="e: { default: \"$${x}\" }",
                          output="n: ${var.names}"))
    result = run("validate", str(tmp_path))
    assert result.returncode == 0, result.stderr
