"""``enabled:`` on resources: a disabled one is left out of the stack, what names it
hard is refused at file:line:col, what orders against it is dropped (lines count
from the first line of the text; ``HEAD`` is lines 1-4)."""

from __future__ import annotations

from pathlib import Path

import pytest
from support.stack_snippets import load, problems

from provisioner.core.address import Address, Kind
from provisioner.errors import Position
from provisioner.outputs import evaluate_outputs
from provisioner.stack.variables import VariableInputs

MONITORING = """\
variables:
  with_monitoring: {type: boolean, default: false}
networks:
  mon: {provider: kvm, mode: isolated, enabled: "${var.with_monitoring}"}
guests:
  mon:
    provider: kvm
    enabled: ${var.with_monitoring}
    networks: [{network: mon}]
  db: {provider: kvm, depends_on: [guests.mon], placement: {spread_across: [guests.mon]}}
outputs:
  mon_names: ${guests.mon[*].name}
  mon_name: ${guests.mon.name}
"""


def at(line: int, column: int) -> Position:
    return Position("stack.yaml", line, column)


def test_a_disabled_resource_is_not_declared_and_depends_on_it_is_dropped(
        tmp_path: Path) -> None:
    stack = load(tmp_path, MONITORING)
    assert [str(r.address) for r in stack.resources] == ["guests.db"]
    assert stack.resources[0].deps == ()
    assert stack.disabled == {Address(Kind.NETWORK, "mon"), Address(Kind.GUEST, "mon")}
    assert Address(Kind.GUEST, "mon") not in stack.groups  # --target may name its deletion


def test_enabled_by_a_variable_declares_it(tmp_path: Path) -> None:
    stack = load(tmp_path, MONITORING, VariableInputs(assignments=["with_monitoring=true"]))
    assert [str(r.address) for r in stack.resources] == ["networks.mon", "guests.mon",
                                                        "guests.db"]
    assert stack.disabled == frozenset()
    assert stack.resources[2].deps == (Address(Kind.GUEST, "mon"),)


def test_outputs_naming_a_disabled_resource_are_empty_lists(tmp_path: Path) -> None:
    stack = load(tmp_path, MONITORING)
    values = evaluate_outputs(stack.outputs, {}, stack.output_groups(), {})
    assert values.values == {"mon_names": [], "mon_name": []}
    assert values.warnings == []


def test_enabled_that_is_not_a_boolean_is_an_error_at_its_line(tmp_path: Path) -> None:
    found = problems(tmp_path, "guests:\n  web: {provider: kvm, enabled: \"no\"}\n")
    assert [(p.position, p.path) for p in found] == [(at(6, 33), "guests.web.enabled")]
    assert found[0].message == "enabled is true or false (got 'no')"


@pytest.mark.parametrize(("declared", "use", "column", "path", "what"), [
    ("networks:\n  mon: {provider: kvm, mode: isolated, enabled: false}\n",
     "networks: [{network: mon}]", 45, "guests.web.networks[0].network", "network 'mon'"),
    ("volumes:\n  data: {provider: kvm, size: 1GiB, enabled: false}\n",
     "disks: [{volume: data}]", 41, "guests.web.disks[0].volume", "volume 'data'"),
    ("pools:\n  fast: {provider: kvm, path: /srv/fast, enabled: false}\n",
     "disks: [{size: 1GiB, pool: fast}]", 51, "guests.web.disks[0].pool", "pool 'fast'"),
    ("images:\n  deb: {provider: kvm, url: deb.qcow2, enabled: false}\n",
     "image: deb", 31, "guests.web.image", "image 'deb'"),
])
def test_a_hard_reference_to_a_disabled_resource_names_it_and_its_enabled_line(
        tmp_path: Path, declared: str, use: str, column: int, path: str, what: str) -> None:
    found = problems(tmp_path, declared + f"guests:\n  web: {{provider: kvm, {use}}}\n")
    assert [(p.position, p.path) for p in found] == [(at(8, column), path)]
    assert found[0].message.startswith(f"{what} is not in the stack: it has enabled: false "
                                       "(at stack.yaml:6:")


def test_a_disabled_resource_is_still_validated(tmp_path: Path) -> None:
    found = problems(tmp_path, "guests:\n  web: {provider: kvm, enabled: false, memroy: 1GiB}\n")
    assert [(p.position, p.path, p.message) for p in found] == [
        (at(6, 40), "guests.web.memroy", "unknown key 'memroy'")]


def test_a_disabled_for_each_leaves_out_every_instance(tmp_path: Path) -> None:
    stack = load(tmp_path, """\
guests:
  web: {provider: kvm, for_each: [a, b], enabled: false}
  db: {provider: kvm, depends_on: [guests.web-a]}
""")
    assert [str(r.address) for r in stack.resources] == ["guests.db"]
    assert stack.resources[0].deps == ()
    assert Address(Kind.GUEST, "web-b") in stack.disabled
