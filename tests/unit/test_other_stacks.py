"""``${stack.NAME.outputs.X}`` through load_stack, with the state seam faked: values,
environments, problems at their line, sensitive outputs refused, outputs evaluated,
and a saved plan refused when what was read changed."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest

from provisioner.core.address import Address, Kind
from provisioner.errors import PlanError, Position, StackError
from provisioner.outputs import evaluate_outputs
from provisioner.plan.model import Plan
from provisioner.plan.planner import PlanOptions
from provisioner.render.json import plan_document
from provisioner.render.markdown import render_plan_markdown
from provisioner.render.planfile import SavedPlan, check_still_valid
from provisioner.render.text import render_plan
from provisioner.stack.loader import Stack, load_stack
from provisioner.stack.model import StateConfig
from provisioner.stack.other_stacks import OutputsReader, outputs_digest

STATES: dict[str, Mapping[str, Any]] = {
    "core": {"lab_cidr": "10.5.0.0/24", "names": ["a", "b"], "token": "(sensitive)"},
    "core--prod": {"lab_cidr": "10.6.0.0/24", "names": [], "token": "(sensitive)"},
}

STACK = """\
apiVersion: provisioner/v1
stack: app
providers:
  kvm: {type: libvirt, uri: "test:///default"}
networks:
  lab: {provider: kvm, mode: nat, cidr: "REFERENCE"}
outputs:
  core_names: ${stack.core.outputs.names}
  text: "net ${stack.core.outputs.lab_cidr} of ${networks.lab.name}"
"""


class Reads:
    """A fake state backend; remembers which identities were read."""

    def __init__(self) -> None:
        self.read: list[str] = []
        self.backends: list[str] = []

    def __call__(self, state: StateConfig) -> OutputsReader:
        self.backends.append(state.backend)

        def read(identity: str) -> Mapping[str, Any] | None:
            self.read.append(identity)
            return STATES.get(identity)

        return read


def load(tmp_path: Path, reference: str = "${stack.core.outputs.lab_cidr}",
         environment: str | None = None, reads: Reads | None = None,
         outputs: bool = True) -> Stack:
    text = STACK.replace("REFERENCE", reference)
    if not outputs:
        text = text.split("outputs:")[0]
    (tmp_path / "stack.yaml").write_text(text)
    if environment is not None:
        (tmp_path / "env").mkdir(exist_ok=True)
        (tmp_path / "env" / f"{environment}.yaml").write_text("variables: {}\n")
    return load_stack(tmp_path, None, {}, cwd=tmp_path, environment=environment,
                      outputs_from=reads if reads is not None else Reads())


def cidr(stack: Stack) -> Any:
    return next(r for r in stack.resources if r.address.name == "lab").spec["cidr"]


def problem(tmp_path: Path, reference: str, outputs: bool = False) -> tuple[Position | None,
                                                                          str, str]:
    with pytest.raises(StackError) as caught:
        load(tmp_path, reference, outputs=outputs)
    found = [p for p in caught.value.problems if "IPv4" not in p.message]
    assert len(found) == 1, str(caught.value)
    return found[0].position, found[0].message, found[0].hint


def test_a_reference_takes_the_other_stacks_recorded_value(tmp_path: Path) -> None:
    reads = Reads()
    stack = load(tmp_path, reads=reads)
    assert cidr(stack) == "10.5.0.0/24"
    assert reads.read == ["core"], "each stack is read once per load"
    assert reads.backends == ["local"]
    assert stack.other_outputs == {"core.outputs.lab_cidr": "10.5.0.0/24",
                                   "core.outputs.names": ["a", "b"]}


def test_with_an_environment_the_same_environment_of_the_other_stack_is_read(
        tmp_path: Path) -> None:
    assert cidr(load(tmp_path, environment="prod")) == "10.6.0.0/24"
    assert cidr(load(tmp_path, "${stack.core--default.outputs.lab_cidr}",
                     environment="prod")) == "10.5.0.0/24"
    assert cidr(load(tmp_path, "${stack.core--prod.outputs.lab_cidr}")) == "10.6.0.0/24"


def test_an_unapplied_stack_is_a_problem_at_the_line(tmp_path: Path) -> None:
    position, message, hint = problem(tmp_path, "${stack.db.outputs.x}")
    assert position == Position("stack.yaml", 6, 41)
    assert message.startswith("stack 'db' has no recorded outputs")
    assert hint == "apply stack db first, with the same state backend"


def test_an_unknown_output_suggests_the_close_one(tmp_path: Path) -> None:
    _, message, hint = problem(tmp_path, "${stack.core.outputs.lab_cdr}")
    assert message.startswith("stack 'core' has no output 'lab_cdr'")
    assert hint == "did you mean 'lab_cidr'?"


def test_a_malformed_reference_says_the_form(tmp_path: Path) -> None:
    _, message, hint = problem(tmp_path, "${stack.core.lab_cidr}")
    assert "is not a reference to another stack's output" in message
    assert "${stack.NAME.outputs.OUTPUT}" in hint


def test_a_sensitive_output_is_refused_and_its_value_never_read(tmp_path: Path) -> None:
    _, message, hint = problem(tmp_path, "${stack.core.outputs.token}")
    assert "is sensitive" in message and "sensitive variable" in hint


def test_references_in_outputs_are_read_and_checked_too(tmp_path: Path) -> None:
    path = _written(tmp_path, "core_names: ${stack.core.outputs.nmes}")
    with pytest.raises(StackError) as caught:
        load_stack(path, None, {}, cwd=tmp_path, outputs_from=Reads())
    (found,) = caught.value.problems
    assert found.path == "outputs.core_names" and "no output 'nmes'" in found.message


def _written(tmp_path: Path, output: str) -> Path:
    text = STACK.replace("REFERENCE", "10.1.0.0/24").split("outputs:")[0]
    (tmp_path / "stack.yaml").write_text(text + f"outputs:\n  {output}\n")
    return tmp_path


def test_outputs_evaluate_the_values_read(tmp_path: Path) -> None:
    stack = load(tmp_path)
    groups = {Address(Kind.NETWORK, "lab"): [Address(Kind.NETWORK, "lab")]}
    values = evaluate_outputs(stack.outputs, {}, groups, stack.variables, stack.other_outputs)
    assert values.values["core_names"] == ["a", "b"]
    assert values.values["text"].startswith("net 10.5.0.0/24 of")


def test_without_a_state_seam_only_the_form_is_checked(tmp_path: Path) -> None:
    # load_stack alone (no state): a reference stays as written, its form checked
    (tmp_path / "stack.yaml").write_text(STACK.replace("REFERENCE", "10.1.0.0/24"))
    stack = load_stack(tmp_path, None, {}, cwd=tmp_path)
    assert stack.other_outputs == {}
    (tmp_path / "stack.yaml").write_text(STACK.replace("REFERENCE", "${stack.core.cidr}"))
    with pytest.raises(StackError) as caught:
        load_stack(tmp_path, None, {}, cwd=tmp_path)
    assert any("is not a reference to another stack's output" in p.message
               for p in caught.value.problems)


def _plan(environment: str | None = None, other: str = "") -> Plan:
    return Plan(stack="app", changes=(), steps=(), edges=(), environment=environment,
                other_outputs=other)


def _saved(plan: Plan) -> SavedPlan:
    return SavedPlan(stack=plan.stack, stack_path=".", stack_digest="d", options=PlanOptions(),
                     fingerprints={}, document=plan_document(plan), text=render_plan(plan),
                     environment=plan.environment, other_outputs=plan.other_outputs)


def test_a_saved_plan_is_refused_when_the_outputs_it_read_changed() -> None:
    before = _plan(other=outputs_digest({"core.outputs.lab_cidr": "10.5.0.0/24"}))
    after = _plan(other=outputs_digest({"core.outputs.lab_cidr": "10.7.0.0/24"}))
    check_still_valid(_saved(before), "app", "d", before)
    with pytest.raises(PlanError) as caught:
        check_still_valid(_saved(before), "app", "d", after)
    assert "outputs of other stacks" in caught.value.message


def test_a_saved_plan_is_refused_in_another_environment() -> None:
    with pytest.raises(PlanError) as caught:
        check_still_valid(_saved(_plan("prod")), "app", "d", _plan("dev"))
    assert "environment 'prod', not environment 'dev'" in caught.value.message


def test_the_plan_says_its_environment_only_when_it_has_one() -> None:
    assert "environment" not in plan_document(_plan())
    assert plan_document(_plan("prod"))["environment"] == "prod"
    assert render_plan(_plan("prod")).startswith("Environment: prod\n\n")
    assert not render_plan(_plan()).startswith("Environment")
    assert render_plan_markdown(_plan("prod")).startswith(
        "### provisioner plan for stack `app`, environment `prod`\n")


def test_another_stacks_output_reaches_a_module_through_its_inputs_and_its_files(
        tmp_path: Path) -> None:
    (tmp_path / "net").mkdir()
    (tmp_path / "net" / "main.yaml").write_text(
        "apiVersion: provisioner/v1\nvariables: {cidr: {type: string}}\n"
        "networks:\n  lab: {provider: kvm, cidr: \"${var.cidr}\"}\n"
        "  other: {provider: kvm, cidr: \"${stack.core--prod.outputs.lab_cidr}\"}\n")
    (tmp_path / "stack.yaml").write_text(
        "apiVersion: provisioner/v1\nstack: app\n"
        "providers:\n  kvm: {type: libvirt, uri: \"test:///default\"}\n"
        "modules:\n  net: {source: net, inputs: {cidr: \"${stack.core.outputs.lab_cidr}\"}}\n")
    reads = Reads()
    stack = load_stack(tmp_path, None, {}, cwd=tmp_path, outputs_from=reads)
    cidrs = {r.name: r.spec["cidr"] for r in stack.resources}
    assert cidrs == {"net-lab": "10.5.0.0/24", "net-other": "10.6.0.0/24"}
    assert sorted(reads.read) == ["core", "core--prod"]
