"""``for_each:`` on resources: instances by key, ``${each...}`` values, and every
mistake reported at file:line:col (lines count from the first line of the text;
``HEAD`` is lines 1-4)."""

from __future__ import annotations

from pathlib import Path

import pytest
from support.stack_snippets import HEAD, load, problems

from provisioner.core.address import Address, Kind
from provisioner.errors import Position, StackError
from provisioner.stack.each import EachProblem, each_value
from provisioner.stack.loader import Stack, load_stack


def at(tmp_path: Path, line: int, column: int) -> Position:
    del tmp_path  # (positions are relative to the working directory, the stack's)
    return Position("stack.yaml", line, column)


def guest(stack: Stack, name: str) -> dict[str, object]:
    resource = stack.resource(Address(Kind.GUEST, name))
    assert resource is not None, name
    return dict(resource.spec)


WORKERS = """\
variables:
  workers:
    default:
      a: {memory: 4GiB, cpus: 2, disks: [{size: 10GiB}]}
      b: {memory: 2GiB, cpus: 1, disks: [{size: 20GiB}]}
guests:
  web:
    provider: kvm
    for_each: ${var.workers}
    memory: ${each.value.memory}
    cpus: ${each.value.cpus}
    disks: ["${each.value.disks[0]}"]
    groups: ["pool-${each.key}"]
  db: {provider: kvm, depends_on: [guests.web]}
outputs:
  names: ${guests.web[*].name}
  one: ${guests.web-a.name}
"""


def test_a_map_makes_one_instance_per_key_with_its_values(tmp_path: Path) -> None:
    stack = load(tmp_path, WORKERS)
    web_a, web_b = guest(stack, "web-a"), guest(stack, "web-b")
    assert (web_a["memory"], web_a["cpus"]) == (4 * 2**30, 2)
    assert (web_b["memory"], web_b["cpus"]) == (2 * 2**30, 1)
    assert web_b["disks"][0]["size"] == 20 * 2**30  # type: ignore[index]
    members = stack.groups[Address(Kind.GUEST, "web")]
    assert [(r.address.name, r.address.index) for r in stack.resources[:2]] == [
        ("web-a", "a"), ("web-b", "b")]
    resource = stack.resource(Address(Kind.GUEST, "web-b"))
    assert resource is not None and resource.settings["groups"] == ["pool-b"]
    db = stack.resource(Address(Kind.GUEST, "db"))
    assert db is not None and db.deps == tuple(members)  # the declared name: every instance
    assert "for_each" not in web_a and "enabled" not in web_a


def test_a_list_makes_instances_whose_value_is_the_key(tmp_path: Path) -> None:
    stack = load(tmp_path, """\
networks:
  lab:
    provider: kvm
    mode: isolated
    for_each: [blue, green]
    domain: ${each.value}.lab
guests:
  web: {provider: kvm, networks: [{network: lab-green}]}
""")
    lab = stack.resource(Address(Kind.NETWORK, "lab-green"))
    assert lab is not None and lab.spec["domain"] == "green.lab"
    web = stack.resource(Address(Kind.GUEST, "web"))
    assert web is not None and web.deps == (Address(Kind.NETWORK, "lab-green"),)


def test_instances_keep_the_order_of_their_keys(tmp_path: Path) -> None:
    stack = load(tmp_path, "guests:\n  web: {provider: kvm, for_each: [zz, aa, mm]}\n")
    assert [r.address.name for r in stack.resources] == ["web-zz", "web-aa", "web-mm"]


def test_an_empty_for_each_makes_no_instance_and_depends_on_it_is_no_error(
        tmp_path: Path) -> None:
    stack = load(tmp_path, """\
guests:
  web: {provider: kvm, for_each: {}}
  db: {provider: kvm, depends_on: [guests.web]}
outputs:
  names: ${guests.web[*].name}
""")
    assert [str(r.address) for r in stack.resources] == ["guests.db"]
    assert stack.groups[Address(Kind.GUEST, "web")] == []


def test_a_bad_key_is_reported_at_its_line_naming_the_rule(tmp_path: Path) -> None:
    found = problems(tmp_path, """\
guests:
  web:
    provider: kvm
    for_each:
      Web_A: {}
      ok: {}
""")
    assert len(found) == 1
    assert found[0].position == at(tmp_path, 9, 7)
    assert found[0].path == "guests.web.for_each.Web_A"
    assert "for_each key 'Web_A' makes the name 'web-Web_A'" in found[0].message
    assert "lowercase letters, digits and '-'" in found[0].hint
    assert "at most 63 characters" in found[0].hint


def test_a_key_that_makes_a_name_too_long_is_refused(tmp_path: Path) -> None:
    key = "k" * 60
    found = problems(tmp_path, f"guests:\n  web:\n    provider: kvm\n    for_each: [{key}]\n")
    assert [(p.position, p.path) for p in found] == [(at(tmp_path, 8, 16),
                                                      "guests.web.for_each[0]")]


def test_count_and_for_each_together_is_an_error_at_for_each(tmp_path: Path) -> None:
    found = problems(tmp_path, """\
guests:
  web:
    provider: kvm
    count: 2
    for_each: [a]
""")
    assert [(p.position, p.path) for p in found] == [(at(tmp_path, 9, 5),
                                                      "guests.web.for_each")]
    assert found[0].message.startswith("count and for_each together")


def test_each_outside_a_for_each_resource_is_an_error_at_its_line(tmp_path: Path) -> None:
    found = problems(tmp_path, """\
guests:
  web:
    provider: kvm
    image: "img-${each.key}"
""")
    assert [(p.position, p.path) for p in found] == [(at(tmp_path, 8, 12), "guests.web.image")]
    assert found[0].message == ("'${each.key}' is known only in a resource with for_each")


def test_each_in_a_provider_block_is_an_error_at_its_line(tmp_path: Path) -> None:
    path = tmp_path / "stack.yaml"
    path.write_text(HEAD.replace('"test:///default"', '"${each.key}"'))
    with pytest.raises(StackError) as caught:
        load_stack(path, None, {}, cwd=tmp_path)
    assert [(p.position, p.message) for p in caught.value.problems] == [
        (at(tmp_path, 4, 29), "'${each.key}' is known only in a resource with for_each")]


def test_a_problem_every_instance_shares_is_reported_once(tmp_path: Path) -> None:
    found = problems(tmp_path, """\
guests:
  web:
    provider: kvm
    for_each: [a, b, c]
    memory: 2048
""")
    assert [(p.position, p.path) for p in found] == [(at(tmp_path, 9, 13), "guests.web.memory")]
    assert "(for_each key" not in found[0].message


def test_a_problem_of_some_instances_names_their_keys(tmp_path: Path) -> None:
    found = problems(tmp_path, """\
guests:
  web:
    provider: kvm
    for_each: {a: {memory: 1GiB}, b: {memory: 12}, c: {mem: 1GiB}}
    memory: ${each.value.memory}
""")
    assert [(p.position, p.path) for p in found] == [
        (at(tmp_path, 9, 13), "guests.web.memory"), (at(tmp_path, 9, 13), "guests.web.memory")]
    unitless, missing = sorted(found, key=lambda p: p.message)
    assert unitless.message == "12 has no unit (for_each key 'b')"
    assert missing.message == ("each.value has no key 'memory', at character 3 of "
                               "'${each.value.memory}' (for_each key 'c')")
    assert missing.hint == "it has: mem"


def test_a_for_each_that_is_neither_list_nor_map_is_refused(tmp_path: Path) -> None:
    found = problems(tmp_path, "guests:\n  web: {provider: kvm, for_each: 3}\n")
    assert [(p.position, p.path) for p in found] == [(at(tmp_path, 6, 34), "guests.web.for_each")]
    assert "a list of names or a map" in found[0].message


def test_a_key_that_makes_a_declared_name_is_refused(tmp_path: Path) -> None:
    found = problems(tmp_path, """\
guests:
  web-a: {provider: kvm}
  web: {provider: kvm, for_each: [a, b]}
""")
    assert [(p.position, p.path) for p in found] == [(at(tmp_path, 7, 35),
                                                      "guests.web.for_each[0]")]
    assert "guests.web-a, which is declared already" in found[0].message


def test_a_nic_naming_a_for_each_network_must_name_one_instance(tmp_path: Path) -> None:
    found = problems(tmp_path, """\
networks:
  lab: {provider: kvm, mode: isolated, for_each: [a, b]}
guests:
  web: {provider: kvm, networks: [{network: lab}]}
""")
    assert [(p.position, p.path) for p in found] == [
        (at(tmp_path, 8, 45), "guests.web.networks[0].network")]
    assert found[0].message == ("network 'lab' has for_each: name one of its instances "
                                "(lab-a, lab-b)")


def test_each_value_keeps_the_type_of_a_whole_value_and_writes_text_inside_text() -> None:
    item = {"memory": "4GiB", "cpus": 2, "on": True, "disks": [{"size": "1GiB"}]}
    value = {"memory": "${each.value.memory}", "cpus": "${ each.value.cpus }",
             "disk": "${each.value.disks[0]}", "name": "w-${each.key}-${each.value.on}",
             "list": ["${each.key}"], "other": 3}
    assert each_value(value, "a", item) == {
        "memory": "4GiB", "cpus": 2, "disk": {"size": "1GiB"}, "name": "w-a-true",
        "list": ["a"], "other": 3}


def test_each_value_reports_what_gives_no_value_and_leaves_it_as_written() -> None:
    found: list[EachProblem] = []
    value = {"a": "${each.value.disks[3]}", "b": "x${each.value}", "c": "${each.size}"}
    assert each_value(value, "k", {"disks": []}, found) == value
    assert [(p.path, p.message) for p in found] == [
        (("a",), "each.value.disks has no item [3], at character 3 of "
                 "'${each.value.disks[3]}'"),
        (("b",), "'${each.value}' is a map, which cannot be part of a text"),
        (("c",), "each.size is not known here, at character 3 of '${each.size}'"),
    ]


def test_every_kind_takes_for_each_and_references_name_its_instances(tmp_path: Path) -> None:
    stack = load(tmp_path, """\
pools:
  fast: {provider: kvm, path: "/srv/${each.key}", for_each: [one, two]}
images:
  deb: {provider: kvm, url: "deb-${each.key}.qcow2", for_each: [v11, v12]}
volumes:
  data: {provider: kvm, size: 1GiB, pool: fast-one, for_each: [x]}
guests:
  web: {provider: kvm, image: deb-v12, disks: [{volume: data-x}, {size: 1GiB, pool: fast-two}]}
""")
    web = stack.resource(Address(Kind.GUEST, "web"))
    assert web is not None
    assert sorted(str(a) for a in web.deps) == ["images.deb-v12@kvm", "pools.fast-two",
                                                "volumes.data-x"]
    data = stack.resource(Address(Kind.VOLUME, "data-x"))
    assert data is not None and data.deps == (Address(Kind.POOL, "fast-one"),)
    image = stack.resource(Address(Kind.IMAGE, "deb-v11@kvm"))
    assert image is not None and image.address.index == "v11"


def test_a_for_each_from_an_unknown_variable_is_reported_once(tmp_path: Path) -> None:
    found = problems(tmp_path, "guests:\n  web: {provider: kvm, for_each: \"${var.nope}\"}\n")
    assert [(p.position, p.message) for p in found] == [
        (at(tmp_path, 6, 34), "unknown variable 'nope' in '${var.nope}'")]


def test_for_each_over_count_numbers_keeps_the_addresses_and_values_of_count(
        tmp_path: Path) -> None:
    counted = load(tmp_path, "guests:\n  web: {provider: kvm, count: 2, memory: 2GiB}\n")
    keyed = load(tmp_path, "guests:\n  web: {provider: kvm, for_each: ['0', '1'], "
                           "memory: 2GiB}\n")
    assert [(r.address, r.spec) for r in counted.resources] == [
        (r.address, r.spec) for r in keyed.resources]


def test_each_values_take_the_whole_expression_language(tmp_path: Path) -> None:
    stack = load(tmp_path, """\
guests:
  web:
    provider: kvm
    for_each: {a: {cpus: 1, small: true}, b: {cpus: 2, small: false}}
    cpus: ${each.value.cpus * 2}
    memory: '${each.value.small ? "1GiB" : "2GiB"}'
    cloud_init:
      user_data: '#cloud-config\\nhostname: ${upper(each.key)}-${format("%d", each.value.cpus)}'
""")
    by_key = {r.address.index: r.spec for r in stack.resources}
    assert (by_key["a"]["cpus"], by_key["a"]["memory"]) == (2, 2**30)
    assert (by_key["b"]["cpus"], by_key["b"]["memory"]) == (4, 2 * 2**30)
    assert by_key["b"]["cloud_init"]["user_data"].content.endswith(b"hostname: B-2")
