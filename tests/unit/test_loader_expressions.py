"""Expressions in stack values through load_stack: evaluated when the stack is read,
or per instance when they read ``count.``; every problem at file:line:col."""

from __future__ import annotations

from pathlib import Path
from textwrap import dedent

import pytest

from provisioner.core.address import Address, Kind
from provisioner.errors import Position, StackError, StackProblem
from provisioner.stack.interpolate import Interpolator
from provisioner.stack.loader import Stack, load_stack
from provisioner.stack.source import SourceMap
from provisioner.stack.templates import count_lookup, evaluate_deferred
from provisioner.stack.variables import VariableInputs

GiB = 1024**3
HEAD = """\
apiVersion: provisioner/v1
stack: lab
providers:
  kvm: {type: libvirt, uri: "test:///default"}
"""
LAB = HEAD + """\
variables:
  env: {default: prod}
  net: {default: 10.42.0.0/24}
networks:
  lab: {provider: kvm, mode: nat, cidr: "${var.net}"}
"""


def load(tmp_path: Path, text: str, *assignments: str,
         environ: dict[str, str] | None = None) -> Stack:
    path = tmp_path / "stack.yaml"
    path.write_text(dedent(text))
    return load_stack(path, VariableInputs(assignments=assignments), environ or {},
                      cwd=tmp_path)


def problems(tmp_path: Path, text: str, *assignments: str) -> list[StackProblem]:
    with pytest.raises(StackError) as caught:
        load(tmp_path, text, *assignments)
    assert all(problem.position is not None for problem in caught.value.problems)
    return caught.value.problems


def spec(stack: Stack, name: str) -> dict[str, object]:
    resource = stack.resource(Address(Kind.GUEST, name))
    assert resource is not None
    return dict(resource.spec)


WEB = LAB + """\
guests:
  web:
    provider: kvm
    count: 3
    memory: '${var.env == "prod" ? "8GiB" : "2GiB"}'
    networks:
      - {network: lab, ip: '${cidrhost(var.net, count.index + 10)}'}
"""


@pytest.mark.parametrize(("env", "memory"), [("prod", 8 * GiB), ("dev", 2 * GiB)])
def test_a_condition_chooses_the_memory(tmp_path: Path, env: str, memory: int) -> None:
    stack = load(tmp_path, WEB, f"env={env}")
    assert {spec(stack, f"web-{index}")["memory"] for index in range(3)} == {memory}


def test_a_counted_guest_takes_its_address_from_cidrhost(tmp_path: Path) -> None:
    stack = load(tmp_path, WEB)
    addresses = [spec(stack, f"web-{index}")["networks"][0]["ip"]  # type: ignore[index]
                 for index in range(3)]
    assert addresses == ["10.42.0.10", "10.42.0.11", "10.42.0.12"]


def test_an_instance_past_the_subnet_is_refused_once_where_its_address_is_written(
        tmp_path: Path) -> None:
    found = problems(tmp_path, WEB.replace("count: 3", "count: 250"))
    assert [problem for problem in found if "cidrhost" in problem.message] == [StackProblem(
        Position("stack.yaml", 16, 28), "guests.web.networks[0].ip",
        "with ${count.index} = 246: cidrhost(): host number 256 is outside 10.42.0.0/24, which "
        "has 256 addresses, at character 28 of "
        "'${cidrhost(\"10.42.0.0/24\", count.index + 10)}'",
        "use 0 to 255, or -256 to -1 from the end")]


def test_a_template_is_checked_with_sample_indexes(tmp_path: Path) -> None:
    found = problems(tmp_path, WEB.replace("var.net, count.index + 10", "var.net, "
                                           "count.index * 100"))
    assert [(p.path, p.message) for p in found] == [(
        "guests.web.networks[0].ip",
        "with ${count.index} = 9: cidrhost(): host number 900 is outside 10.42.0.0/24, "
        "which has 256 addresses, at character 28 of "
        "'${cidrhost(\"10.42.0.0/24\", count.index * 100)}'")]


def test_an_error_is_at_the_value_and_says_where_in_the_expression(tmp_path: Path) -> None:
    found = problems(tmp_path, LAB + """\
        guests:
          web: {provider: kvm, image: 'debian-${var.env + 1}'}
        """.replace("        ", ""))
    assert found == [StackProblem(
        Position("stack.yaml", 11, 31), "guests.web.image",
        "'+' cannot take a string and an integer, at character 11 of '${var.env + 1}'",
        "'+' takes integers (or two strings, joined)")]


def test_count_index_in_an_expression_of_a_guest_without_count_is_refused(
        tmp_path: Path) -> None:
    found = problems(tmp_path, HEAD + """\
guests:
  web: {provider: kvm, image: 'debian-${count.index + 1}'}
""")
    assert [(p.path, p.message) for p in found] == [
        ("guests.web.image", "${count.index} is known only in a resource with count")]


def test_a_literal_dollar_brace_survives_in_a_counted_template(tmp_path: Path) -> None:
    stack = load(tmp_path, HEAD + """\
guests:
  web:
    provider: kvm
    count: 2
    image: 'img-${count.index}-$${HOME}'
    cloud_init: {user_data: "#cloud-config\\nruncmd: [echo '$${HOME}']\\n"}
""")
    assert spec(stack, "web-1")["image"] == "img-1-${HOME}"


def test_an_expression_reading_a_sensitive_variable_is_refused_in_a_plain_field(
        tmp_path: Path) -> None:
    found = problems(tmp_path, HEAD + """\
variables:
  password: {default: hunter2, sensitive: true}
guests:
  web: {provider: kvm, image: '${upper(var.password) == "X" ? "a" : "b"}'}
""")
    assert [(p.path, p.message) for p in found] == [
        ("guests.web.image", "the sensitive variable 'password' would be shown in plans here")]


def test_a_sensitive_value_in_a_failing_expression_is_not_shown(tmp_path: Path) -> None:
    with pytest.raises(StackError) as caught:
        load(tmp_path, HEAD + """\
variables:
  password: {default: hunter2, sensitive: true}
guests:
  web: {provider: kvm, image: '${cidrhost(var.password, 1)}'}
""")
    assert "hunter2" not in str(caught.value)


def test_expressions_record_what_they_read() -> None:
    result = Interpolator({"on": True, "secret": "s"}, {"secret"}, SourceMap(),
                          {"HOME": "/root"}).run({"guests": {"w": {
        "a": "${var.on ? env.HOME : var.secret}",
        "b": "${each.value.memory}",
        "c": "${count.index + 1}",
        "d": "x-${var.on}-${count.index}",
    }}}, skip=lambda path: False)
    assert result.problems == []
    assert result.data == {"guests": {"w": {
        "a": "/root", "b": "${each.value.memory}", "c": "${count.index + 1}",
        "d": "x-true-${count.index}"}}}
    assert result.sensitive_paths == {("guests", "w", "a"): "secret"}
    assert result.environment_paths == {("guests", "w", "a")}


def test_deferred_values_are_evaluated_per_instance_and_keep_their_type() -> None:
    value = {"ports": ["${count.index + 2220}", "p-${count.index}", "$${plain}"],
             "name": "web"}
    assert evaluate_deferred(value, count_lookup(3)) == {
        "ports": [2223, "p-3", "$${plain}"], "name": "web"}


def test_an_unset_environment_variable_in_an_expression_is_named(tmp_path: Path) -> None:
    found = problems(tmp_path, HEAD + """\
guests:
  web: {provider: kvm, image: '${lower(env.LAB_IMAGE)}'}
""")
    assert [(p.path, p.message) for p in found] == [
        ("guests.web.image",
         "environment variable LAB_IMAGE is not set (used by '${lower(env.LAB_IMAGE)}')")]


def test_a_literal_per_instance_expression_stays_literal(tmp_path: Path) -> None:
    """``$${count.index}`` and ``$${each.key}`` write the text itself, in a counted, a
    for_each and a plain resource (they were read as expressions after the stack's
    reading had unescaped them, and refused in the plain one)."""
    (tmp_path / "stack.yaml").write_text(dedent("""\
        apiVersion: provisioner/v1
        stack: lab
        providers:
          kvm: {type: libvirt, uri: "test:///default"}
        guests:
          web:
            provider: kvm
            for_each: [a]
            cloud_init: {user_data: "#cloud-config\\nhostname: ${each.key}\\nx: $${each.key}\\n"}
          db:
            provider: kvm
            count: 1
            cloud_init: {user_data: "#cloud-config\\nx: '$${count.index}'\\n"}
          solo:
            provider: kvm
            cloud_init: {user_data: "#cloud-config\\nx: '$${count.index}' $${each.key}\\n"}
        """))
    stack = load_stack(tmp_path, environ={})
    texts = {r.address.name: r.spec["cloud_init"]["user_data"].content for r in stack.resources}
    assert texts == {"web-a": b"#cloud-config\nhostname: a\nx: ${each.key}\n",
                     "db-0": b"#cloud-config\nx: '${count.index}'\n",
                     "solo": b"#cloud-config\nx: '${count.index}' ${each.key}\n"}
