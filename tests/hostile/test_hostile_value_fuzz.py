"""Hostile free text in the fields that reach libvirt: refused at a line, or applied.

For any text hypothesis writes into a network's domain, a guest's machine type,
kernel command line, NIC model, disk slot or sizes, the stack is either refused
with every problem at file:line (by the loader or by the plan), or it plans,
applies on libvirt's test driver, and plans again with no change: nothing passes
the plan and then fails the apply or breaks a later read. A bounded number of
examples, in-process (about a second each).
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from support.hostile_cli import write
from support.libvirt_node import node_uri

from provisioner.apply.progress import CollectingProgress
from provisioner.core.problems import PlanRefused
from provisioner.engine import Engine
from provisioner.errors import StackError
from provisioner.stack.loader import load_stack
from provisioner.state.local import SQLiteStore

HOSTILE = st.text(alphabet=st.sampled_from(list("ab-.1_'\"<>&/ =,:;\\${}\x00\x1b\n\té\u202e")),
                  max_size=12)
SIZES = st.sampled_from(["0B", "1B", "1536B", "1KiB", "64MiB", "1.5KiB", "3MB"]) | HOSTILE
FIELDS = {
    "domain": "networks:\n  lab: {{ provider: kvm, mode: nat, cidr: 10.9.0.0/24, "
              "domain: {value} }}\n",
    "machine": "guests:\n  web: {{ provider: kvm, memory: 64MiB, "
               "options: {{ machine: {value} }} }}\n",
    "cmdline": "guests:\n  web: {{ provider: kvm, memory: 64MiB, "
               "options: {{ kernel: /boot/vmlinuz, cmdline: {value} }} }}\n",
    "model": "guests:\n  web: {{ provider: kvm, memory: 64MiB, disks: [ {{ size: 64MiB }} ], "
             "networks: [ {{ bridge: br0, model: {value} }} ] }}\n",
    "slot": "guests:\n  web: {{ provider: kvm, memory: 64MiB, "
            "disks: [ {{ size: 64MiB, slot: {value} }} ] }}\n",
    "memory": "guests:\n  web: {{ provider: kvm, memory: {value} }}\n",
    "size": "volumes:\n  data: {{ provider: kvm, size: {value} }}\n",
}


def _quoted(text: str) -> str:
    """``text`` as a YAML double-quoted scalar (every character escaped as YAML reads it)."""
    escaped = "".join(c if c.isalnum() or c in " -._/:,;=" else f"\\u{ord(c):04x}"
                      for c in text)
    return f'"{escaped}"'


@pytest.mark.parametrize("field", FIELDS, ids=list(FIELDS))
@settings(max_examples=12, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(value=st.one_of(HOSTILE, SIZES))
def test_hostile_text_is_refused_at_a_line_or_applies_cleanly(field: str, value: str) -> None:
    with tempfile.TemporaryDirectory() as directory:
        root = Path(directory)
        stack_file = write(root, FIELDS[field].format(value=_quoted(value)), node_uri(root))
        try:
            stack = load_stack(stack_file)
        except StackError as exc:
            assert all(p.position is not None for p in exc.problems), exc.problems
            return
        with Engine(stack, SQLiteStore(root / "state.db")) as engine:
            try:
                plan = engine.plan()
            except PlanRefused as exc:
                assert all(p.position is not None or p.address is not None
                           for p in exc.problems), exc.problems
                return
            result = engine.apply(plan, CollectingProgress())
            assert result.ok, [(r.message, r.hint) for r in result.results if not r.ok]
            assert not engine.plan().has_changes
