"""Every kind of stack error names file:line:col, the key path, what is wrong and a hint.

Each test writes a small stack, loads it and checks the exact StackProblem. Line
and column numbers are 1-based and count from the first line of the YAML
text in the test (``HEAD`` is lines 1-4).
"""

from __future__ import annotations

from pathlib import Path
from textwrap import dedent

import pytest

from provisioner.core.address import NAME_HELP
from provisioner.core.plugins import installed_types
from provisioner.errors import Position, StackError, StackProblem, UsageError
from provisioner.stack.loader import load_stack
from provisioner.stack.variables import VariableInputs
from provisioner.units import UNITS_HELP

HEAD = """\
apiVersion: provisioner/v1
stack: lab
providers:
  kvm: {type: libvirt, uri: "test:///default"}
"""


def write(directory: Path, text: str, name: str = "stack.yaml") -> Path:
    path = directory / name
    path.write_text(text)
    return path


def errors(
    tmp_path: Path,
    text: str,
    inputs: VariableInputs | None = None,
    environ: dict[str, str] | None = None,
) -> StackError:
    """Load ``text`` as stack.yaml; return the StackError after checking its rendering."""
    path = write(tmp_path, text)
    with pytest.raises(StackError) as caught:
        load_stack(path, inputs, environ or {}, cwd=tmp_path)
    error = caught.value
    rendered = str(error)
    assert "Traceback" not in rendered
    assert "For further information" not in rendered
    assert "errors.pydantic.dev" not in rendered
    for problem in error.problems:
        assert problem.position is not None, problem
        assert problem.message, problem
    return error


def only(error: StackError) -> StackProblem:
    assert len(error.problems) == 1, str(error)
    return error.problems[0]


def at(line: int, column: int, file: str = "stack.yaml") -> Position:
    return Position(file, line, column)


# --- unknown keys -------------------------------------------------------------


def test_unknown_key_suggests_the_closest_one(tmp_path: Path) -> None:
    problem = only(errors(tmp_path, HEAD + dedent("""\
        guests:
          web:
            provider: kvm
            cpu: 2
        """)))
    assert problem == StackProblem(at(8, 5), "guests.web.cpu", "unknown key 'cpu'",
                              "did you mean 'cpus'?")


def test_unknown_top_level_key_suggests_the_section(tmp_path: Path) -> None:
    problem = only(errors(tmp_path, HEAD + "guest:\n  web: {provider: kvm}\n"))
    assert problem == StackProblem(at(5, 1), "guest", "unknown key 'guest'",
                                   "did you mean 'guests'?")


def test_unknown_key_without_a_close_match_lists_the_valid_keys(tmp_path: Path) -> None:
    problem = only(errors(tmp_path, HEAD + "volumes:\n  data: {provider: kvm, size: 1G, zzz: 1}\n"))
    assert problem.position == at(6, 35)
    assert problem.path == "volumes.data.zzz"
    assert problem.hint == (
        "valid: depends_on, enabled, for_each, format, lifecycle, options, pool, provider, "
        "size"
    )


def test_unknown_provider_setting_suggests_the_closest_one(tmp_path: Path) -> None:
    problem = only(errors(tmp_path, dedent("""\
        apiVersion: provisioner/v1
        stack: lab
        providers:
          kvm:
            type: libvirt
            url: "test:///default"
        """)))
    assert problem == StackProblem(at(6, 5), "providers.kvm.url", "unknown key 'url'",
                              "did you mean 'uri'?")


def test_missing_required_key_points_at_its_parent(tmp_path: Path) -> None:
    problem = only(errors(tmp_path, HEAD + "guests:\n  web:\n    cpus: 2\n"))
    assert problem == StackProblem(at(7, 5), "guests.web.provider",
                                   "missing required key 'provider'", "add `provider:`")


# --- wrong types and values -----------------------------------------------------


def test_wrong_type_says_what_was_expected_and_what_was_found(tmp_path: Path) -> None:
    problem = only(errors(tmp_path, HEAD + "guests:\n  web:\n    provider: kvm\n    cpus: two\n"))
    assert problem == StackProblem(at(8, 11), "guests.web.cpus",
                                   "expected a whole number (got 'two')",
                                   "write a whole number, such as 2")


def test_quoted_number_hints_to_remove_the_quotes(tmp_path: Path) -> None:
    problem = only(errors(tmp_path, HEAD + 'guests:\n  web: {provider: kvm, cpus: "2"}\n'))
    assert problem.position == at(6, 30)
    assert problem.path == "guests.web.cpus"
    assert problem.message == "expected a whole number (got '2')"
    assert problem.hint == "write the value without quotes"


def test_number_where_a_string_is_expected_hints_to_quote_it(tmp_path: Path) -> None:
    problem = only(errors(tmp_path, HEAD + "guests:\n  web: {provider: kvm, image: 12}\n"))
    assert problem == StackProblem(at(6, 31), "guests.web.image", "expected a string (got 12)",
                              "quote the value to make it a string")


def test_yaml_1_1_boolean_words_are_strings(tmp_path: Path) -> None:
    problem = only(errors(tmp_path, HEAD + "guests:\n  web: {provider: kvm, autostart: yes}\n"))
    assert problem == StackProblem(at(6, 35), "guests.web.autostart",
                              "expected true or false (got 'yes')", "write true or false")


def test_value_outside_a_closed_set_suggests_the_closest_one(tmp_path: Path) -> None:
    problem = only(errors(tmp_path, HEAD + "guests:\n  web: {provider: kvm, power: runing}\n"))
    assert problem == StackProblem(at(6, 31), "guests.web.power",
                              "expected one of 'running' or 'stopped' (got 'runing')",
                              "did you mean 'running'?")


def test_section_left_empty_says_how_to_write_it(tmp_path: Path) -> None:
    problem = only(errors(tmp_path, HEAD + "guests:\n  web:\n"))
    assert problem.position == at(6, 7)
    assert problem.path == "guests.web"
    assert problem.message == "expected a mapping (key: value) (got None)"
    assert "{}" in problem.hint


def test_bad_size_names_the_unit_and_the_accepted_forms(tmp_path: Path) -> None:
    problem = only(errors(tmp_path, HEAD + "guests:\n  web:\n    provider: kvm\n"
                                           "    memory: 2 gigs\n"))
    assert problem == StackProblem(at(8, 13), "guests.web.memory",
                              "'2 gigs' has an unknown unit 'gigs'", UNITS_HELP)


def test_size_without_a_unit_is_refused(tmp_path: Path) -> None:
    problem = only(errors(tmp_path, HEAD + "volumes:\n  data: {provider: kvm, size: 2048}\n"))
    assert problem == StackProblem(at(6, 31), "volumes.data.size", "2048 has no unit", UNITS_HELP)


def test_size_too_large_for_a_float_is_a_problem_not_a_crash(tmp_path: Path) -> None:
    size = "9" * 400 + ".5G"
    problem = only(errors(tmp_path, HEAD + f"volumes:\n  data: {{provider: kvm, size: {size}}}\n"))
    assert problem.path == "volumes.data.size"
    assert problem.message.endswith("is too large")
    assert problem.hint == UNITS_HELP


def test_size_inside_a_list_names_the_index(tmp_path: Path) -> None:
    problem = only(errors(tmp_path, HEAD + dedent("""\
        guests:
          web:
            provider: kvm
            disks:
              - size: 10GiB
              - size: ten
        """)))
    assert problem.position == at(10, 15)
    assert problem.path == "guests.web.disks[1].size"
    assert problem.message == "'ten' is not a size"


def test_invalid_name_is_refused_at_its_key(tmp_path: Path) -> None:
    problem = only(errors(tmp_path, HEAD + "guests:\n  Web:\n    provider: kvm\n"))
    assert problem == StackProblem(at(6, 3), "guests.Web", "'Web' is not a valid name", NAME_HELP)


def test_invalid_stack_name_is_refused(tmp_path: Path) -> None:
    problem = only(errors(tmp_path, "apiVersion: provisioner/v1\nstack: My_Lab\n"))
    assert problem == StackProblem(at(2, 8), "stack", "not a valid value (got 'My_Lab')", NAME_HELP)


def test_wrong_api_version(tmp_path: Path) -> None:
    problem = only(errors(tmp_path, "apiVersion: provisioner/v2\nstack: lab\n"))
    assert problem.position == at(1, 13)
    assert problem.path == "apiVersion"
    assert problem.message == "expected one of 'provisioner/v1' (got 'provisioner/v2')"


def test_model_rule_across_keys_names_the_entry(tmp_path: Path) -> None:
    problem = only(errors(tmp_path, HEAD + "networks:\n  lan: {provider: kvm, mode: bridge}\n"))
    assert problem.position == at(6, 8)
    assert problem.path == "networks.lan"
    assert problem.message == "mode bridge needs `bridge:` naming a host bridge, such as br0"


def test_mac_address_pattern_hint_is_not_the_name_rule(tmp_path: Path) -> None:
    problem = only(errors(tmp_path, HEAD + dedent("""\
        guests:
          web:
            provider: kvm
            networks: [{bridge: br0, mac: "52:54:00:ZZ:00:01"}]
        """)))
    assert problem.path == "guests.web.networks[0].mac"
    assert problem.position == at(8, 35)
    assert problem.hint != NAME_HELP
    assert problem.message == ("'52:54:00:ZZ:00:01' is not a MAC address such as "
                               "52:54:00:12:34:56 (lower case)")


def test_bad_ignore_changes_field_suggests_the_closest_field(tmp_path: Path) -> None:
    problem = only(errors(tmp_path, HEAD + dedent("""\
        guests:
          web:
            provider: kvm
            lifecycle: {ignore_changes: [cpus, memroy]}
        """)))
    assert problem == StackProblem(at(8, 40), "guests.web.lifecycle.ignore_changes[1]",
                              "'memroy' is not a field of guests", "did you mean 'memory'?")


# --- references, dependencies, names --------------------------------------------------

NETWORKS = """\
networks:
  lab: {provider: kvm, cidr: 10.42.0.0/24}
  wan: {provider: kvm, cidr: 10.43.0.0/24}
"""


def test_unknown_reference_suggests_the_closest_name(tmp_path: Path) -> None:
    problem = only(errors(tmp_path, HEAD + NETWORKS + dedent("""\
        guests:
          web:
            provider: kvm
            networks: [{network: lbb}]
        """)))
    assert problem == StackProblem(at(11, 26), "guests.web.networks[0].network",
                              "unknown network 'lbb'", "did you mean 'lab'?")


def test_a_reference_to_another_providers_network_or_volume_is_refused(
        tmp_path: Path) -> None:
    """Each provider block is its own host or cluster: its guests cannot attach what
    another block declares."""
    error = errors(tmp_path, HEAD + dedent("""\
          far: {type: libvirt, uri: "test:///default"}
        networks:
          lab: {provider: far, cidr: 10.42.0.0/24}
        volumes:
          data: {provider: far, size: 1GiB}
          near: {provider: kvm, size: 1GiB}
        guests:
          web:
            provider: kvm
            networks: [{network: lab}]
            disks: [{volume: near}, {volume: data}]
        """))
    assert [(p.position, p.path, p.message, p.hint) for p in error.problems] == [
        (at(14, 26), "guests.web.networks[0].network",
         "network 'lab' is on provider 'far', this guest on 'kvm': a guest can use only the "
         "networks of its own provider",
         "declare a network on provider 'kvm' for it, or put the guest on 'far'"),
        (at(15, 38), "guests.web.disks[1].volume",
         "volume 'data' is on provider 'far', this guest on 'kvm': a guest can use only the "
         "volumes of its own provider",
         "declare a volume on provider 'kvm' for it, or put the guest on 'far'"),
    ]


def test_unknown_reference_lists_the_valid_names(tmp_path: Path) -> None:
    problem = only(errors(tmp_path, HEAD + NETWORKS + dedent("""\
        guests:
          web:
            provider: kvm
            networks: [{network: dmz}]
        """)))
    assert problem.path == "guests.web.networks[0].network"
    assert problem.message == "unknown network 'dmz'"
    assert problem.hint == "valid: lab, wan"


def test_reference_to_an_empty_section_says_none_are_declared(tmp_path: Path) -> None:
    problem = only(errors(tmp_path, HEAD + dedent("""\
        guests:
          web:
            provider: kvm
            disks: [{volume: data}]
        """)))
    assert problem == StackProblem(at(8, 22), "guests.web.disks[0].volume", "unknown volume 'data'",
                              "no volumes are declared")


def test_unknown_provider_name_suggests_the_declared_one(tmp_path: Path) -> None:
    problem = only(errors(tmp_path, HEAD + "guests:\n  web:\n    provider: kmv\n"))
    assert problem == StackProblem(at(7, 15), "guests.web.provider", "unknown provider 'kmv'",
                              "did you mean 'kvm'?")


def test_unknown_provider_type_lists_the_installed_types(tmp_path: Path) -> None:
    problem = only(errors(tmp_path, dedent("""\
        apiVersion: provisioner/v1
        stack: lab
        providers:
          kvm: {type: libvrt}
        guests:
          web: {provider: kvm}
        """)))
    assert problem.position == at(4, 15)
    assert problem.path == "providers.kvm.type"
    installed = installed_types()  # every plugin of this install, sorted
    assert {"libvirt", "proxmox", "vsphere"} <= set(installed)
    assert problem.message == f"unknown provider type 'libvrt' (installed: {', '.join(installed)})"
    assert problem.hint == "check the spelling, or install the plugin that provides it"


def test_depends_on_an_unknown_address(tmp_path: Path) -> None:
    problem = only(errors(tmp_path, HEAD + dedent("""\
        guests:
          web:
            provider: kvm
            depends_on: [guests.db]
          dbs:
            provider: kvm
        """)))
    assert problem == StackProblem(at(8, 18), "guests.web.depends_on[0]",
                              "unknown resource 'guests.db'", "did you mean 'guests.dbs'?")


def test_depends_on_something_that_is_not_an_address(tmp_path: Path) -> None:
    problem = only(errors(tmp_path, HEAD + dedent("""\
        guests:
          web:
            provider: kvm
            depends_on: [db]
        """)))
    assert problem.path == "guests.web.depends_on[0]"
    assert problem.position == at(8, 18)
    assert "'db' is not an address like guests.web-0" in problem.message
    assert problem.hint == "write KIND.NAME, such as guests.db"


def test_dependency_cycle_names_the_cycle(tmp_path: Path) -> None:
    problem = only(errors(tmp_path, HEAD + dedent("""\
        guests:
          a:
            provider: kvm
            depends_on: [guests.b]
          b:
            provider: kvm
            depends_on: [guests.a]
        """)))
    assert problem == StackProblem(at(8, 17), "guests.a.depends_on",
                              "dependency cycle: guests.a -> guests.b -> guests.a",
                              "remove one of these references; creation needs an order")


def test_dependency_on_itself_is_a_cycle(tmp_path: Path) -> None:
    problem = only(errors(tmp_path, HEAD + dedent("""\
        guests:
          web:
            provider: kvm
            count: 2
            depends_on: [guests.web-0]
        """)))
    assert problem.path == "guests.web.depends_on"
    assert problem.message == "dependency cycle: guests.web depends on itself"


def test_duplicate_yaml_key_names_both_places(tmp_path: Path) -> None:
    problem = only(errors(tmp_path, HEAD + dedent("""\
        guests:
          web:
            provider: kvm
          web:
            provider: kvm
        """)))
    assert problem == StackProblem(at(8, 3), "guests.web",
                              "duplicate key 'web' (first at stack.yaml:6:3)",
                              "remove one of the two; YAML would keep only the last")


def test_duplicate_name_across_the_files_of_a_directory_stack(tmp_path: Path) -> None:
    write(tmp_path, HEAD + "guests:\n  web: {provider: kvm}\n", "a.yaml")
    write(tmp_path, "apiVersion: provisioner/v1\nguests:\n  web: {provider: kvm, cpus: 2}\n",
          "b.yaml")
    with pytest.raises(StackError) as caught:
        load_stack(tmp_path, environ={}, cwd=tmp_path)
    assert only(caught.value) == StackProblem(at(3, 3, "b.yaml"), "guests.web",
                                         "'web' is defined twice in guests",
                                         "rename or remove one of them")


def test_count_instance_colliding_with_a_declared_guest(tmp_path: Path) -> None:
    problem = only(errors(tmp_path, HEAD + dedent("""\
        guests:
          web:
            provider: kvm
            count: 2
          web-1:
            provider: kvm
        """)))
    assert problem == StackProblem(
        at(9, 3), "guests.web-1",
        "guests.web-1 is declared and is also an instance of guests.web "
        "(count makes web-0, web-1, ...)",
        "rename one of them")


# --- variables, environment, secrets ----------------------------------------------------------


def test_unset_environment_variable_is_named(tmp_path: Path) -> None:
    problem = only(errors(tmp_path, HEAD + "guests:\n  web:\n    provider: kvm\n"
                                           "    image: debian-${env.LAB_RELEASE}\n"))
    assert problem == StackProblem(
        at(8, 12), "guests.web.image",
        "environment variable LAB_RELEASE is not set (used by '${env.LAB_RELEASE}')",
        "export LAB_RELEASE=... before running provisioner")


@pytest.mark.parametrize("secret, message", [
    ("${env.LAB_PASSWORD}",
     "environment variable LAB_PASSWORD is not set (used by '${env.LAB_PASSWORD}')"),
    ("${var.password}", "variable 'password' has no value"),
])
def test_a_missing_secret_is_only_reported_missing(
        tmp_path: Path, secret: str, message: str) -> None:
    """Not also as 'a secret written in the stack file': the stack names no value."""
    error = errors(tmp_path, dedent(f"""\
        apiVersion: provisioner/v1
        stack: lab
        providers:
          kvm: {{type: libvirt, uri: "qemu+tcp://h/system", username: u, password: "{secret}"}}
        """) + ("variables:\n  password: {type: string, sensitive: true}\n"
                if "var." in secret else ""))
    assert [problem.message for problem in error.problems] == [message]


def test_unknown_variable_suggests_the_declared_one(tmp_path: Path) -> None:
    problem = only(errors(tmp_path, HEAD + dedent("""\
        variables:
          image: {default: debian-12}
        guests:
          web:
            provider: kvm
            image: ${var.imag}
        """)))
    assert problem == StackProblem(at(10, 12), "guests.web.image",
                              "unknown variable 'imag' in '${var.imag}'", "did you mean 'image'?")


def test_variable_without_value_is_reported_once_where_declared(tmp_path: Path) -> None:
    problem = only(errors(tmp_path, HEAD + dedent("""\
        variables:
          image: {type: string}
        guests:
          web:
            provider: kvm
            image: ${var.image}
        """)))
    assert problem == StackProblem(
        at(6, 3), "variables.image", "variable 'image' has no value",
        "pass --var image=VALUE, put it in a --var-file, or give it a default")


def test_variable_default_of_the_wrong_type(tmp_path: Path) -> None:
    problem = only(errors(tmp_path, HEAD + "variables:\n  cpus: {type: integer, default: '2'}\n"))
    assert problem == StackProblem(
        at(6, 9), "variables.cpus",
        "its default gives 'cpus' the value '2', which is not an integer",
        "declare `type:` to match, or pass an integer")


def test_variable_that_is_not_a_mapping_is_reported_once(tmp_path: Path) -> None:
    problem = only(errors(tmp_path, HEAD + "variables:\n  cpus: 2\n"))
    assert problem.position == at(6, 9)
    assert problem.path == "variables.cpus"
    assert problem.message == "expected a mapping (key: value) (got 2)"


def test_var_of_the_wrong_type_names_the_option(tmp_path: Path) -> None:
    problem = only(errors(tmp_path, HEAD + "variables:\n  cpus: {default: 2}\n",
                          inputs=VariableInputs(assignments=["cpus=many"])))
    assert problem.position == at(6, 3)  # where the variable and its type are declared
    assert problem.path == "variables.cpus"
    assert problem.message == "--var cpus gives 'cpus' the value 'many', which is not an integer"


def test_a_missing_var_file_is_named(tmp_path: Path) -> None:
    stack = write(tmp_path, HEAD + "variables:\n  cpus: {default: 2}\n", "stack.yaml")
    with pytest.raises(StackError) as caught:
        load_stack(stack, VariableInputs(files=[tmp_path / "nope.yaml"]), {}, cwd=tmp_path)
    problem = only(caught.value)
    assert problem.message == f"--var-file {tmp_path / 'nope.yaml'}: no such file"
    assert problem.hint.startswith("check the path")


def test_unknown_name_in_a_var_file(tmp_path: Path) -> None:
    var_file = write(tmp_path, "image: debian-12\ncpu: 4\n", "values.yaml")
    stack = write(tmp_path, HEAD + "variables:\n  cpus: {default: 2}\n  image: {default: x}\n",
                  "stack.yaml")
    with pytest.raises(StackError) as caught:
        load_stack(stack, VariableInputs(files=[var_file]), {}, cwd=tmp_path)
    problem = only(caught.value)
    assert problem.position == Position(str(var_file), 2, 1)
    assert problem.path == "cpu"
    assert problem.message == "'cpu' is not a declared variable"
    assert problem.hint == "did you mean 'cpus'?"


def test_unknown_var_on_the_command_line_is_a_usage_error(tmp_path: Path) -> None:
    path = write(tmp_path, HEAD + "variables:\n  cpus: {default: 2}\n")
    with pytest.raises(UsageError) as caught:
        load_stack(path, VariableInputs(assignments=["cpu=4"]), {}, cwd=tmp_path)
    assert caught.value.message == "--var cpu: no such variable in the stack"
    assert caught.value.hint == "did you mean 'cpus'?"


def test_var_without_equals_sign_is_a_usage_error(tmp_path: Path) -> None:
    path = write(tmp_path, HEAD + "variables:\n  cpus: {default: 2}\n")
    with pytest.raises(UsageError) as caught:
        load_stack(path, VariableInputs(assignments=["cpus"]), {}, cwd=tmp_path)
    assert caught.value.message == "--var 'cpus' is not NAME=VALUE"


SECRET = """\
variables:
  password: {default: hunter2, sensitive: true}
"""


def test_sensitive_variable_in_a_plain_field_is_refused(tmp_path: Path) -> None:
    problem = only(errors(tmp_path, HEAD + SECRET + dedent("""\
        guests:
          web:
            provider: kvm
            image: ${var.password}
        """)))
    assert problem == StackProblem(at(10, 12), "guests.web.image",
                              "the sensitive variable 'password' would be shown in plans here",
                              "use sensitive variables only in secret fields (tokens, passwords)")


def test_sensitive_value_never_appears_in_errors(tmp_path: Path) -> None:
    error = errors(tmp_path, HEAD + SECRET + dedent("""\
        guests:
          web:
            provider: kvm
            cpus: ${var.password}
            memory: ${var.password}
            disks: [{volume: "data-${var.password}"}]
        """))
    assert "hunter2" not in str(error)
    assert {p.path for p in error.problems} >= {
        "guests.web.cpus", "guests.web.memory", "guests.web.disks[0].volume"}


def test_environment_value_is_not_quoted_in_type_errors(tmp_path: Path) -> None:
    problem = only(errors(tmp_path, HEAD + "guests:\n  web:\n    provider: kvm\n"
                                           "    cpus: ${env.CPUS}\n",
                          environ={"CPUS": "t0ps3cret"}))
    assert problem.path == "guests.web.cpus"
    assert problem.message == "expected a whole number"
    assert problem.hint.startswith("${env.NAME} gives a string")


def test_expression_that_only_works_in_outputs(tmp_path: Path) -> None:
    problem = only(errors(tmp_path, HEAD + "guests:\n  web:\n    provider: kvm\n"
                                           "    image: ${guests.db.ip}\n"))
    assert problem.path == "guests.web.image"
    assert problem.message == "'${guests.db.ip}' cannot be used here"
    assert "work in outputs" in problem.hint


# --- outputs ------------------------------------------------------------------------


def test_output_referring_to_an_unknown_resource(tmp_path: Path) -> None:
    problem = only(errors(tmp_path, HEAD + dedent("""\
        guests:
          web: {provider: kvm, count: 2}
        outputs:
          ips: ${guests.wbe[*].ip}
        """)))
    assert problem.position == at(8, 8)
    assert problem.path == "outputs.ips"
    assert problem.message == "unknown resource 'guests.wbe'"
    assert problem.hint == "did you mean 'guests.web'?"


def test_output_of_the_wrong_type_is_one_problem_at_its_path(tmp_path: Path) -> None:
    error = errors(tmp_path, HEAD + "outputs:\n  count: 3\n  ips: {valeu: x}\n")
    assert [(p.position, p.path, p.message, p.hint) for p in error.problems] == [
        (at(6, 10), "outputs.count",
         "expected a string or a mapping with `value:` (got 3)",
         "write an expression such as ${guests.web[*].ip}, or quote the value"),
        (at(7, 8), "outputs.ips.value", "missing required key 'value'", "add `value:`"),
        (at(7, 9), "outputs.ips.valeu", "unknown key 'valeu'", "did you mean 'value'?"),
    ]


# --- files and YAML ------------------------------------------------------------------------


def test_missing_cloud_init_file(tmp_path: Path) -> None:
    problem = only(errors(tmp_path, HEAD + dedent("""\
        guests:
          web:
            provider: kvm
            cloud_init: {user_data: web.cloud.yaml}
        """)))
    assert problem.position == at(8, 29)
    assert problem.path == "guests.web.cloud_init.user_data"
    assert problem.message == "cannot read 'web.cloud.yaml': No such file or directory"
    assert "relative to the stack directory" in problem.hint


def test_invalid_yaml_reports_only_the_syntax_error(tmp_path: Path) -> None:
    problem = only(errors(tmp_path, HEAD + "guests:\n  web:\n    provider: kvm\n   cpus: 2\n"))
    assert problem.position == at(8, 4)
    assert problem.path == ""
    assert problem.message.startswith("invalid YAML: ")
    assert problem.hint == "check indentation and quoting"


def test_unclosed_flow_sequence(tmp_path: Path) -> None:
    problem = only(errors(tmp_path, HEAD + "guests:\n  web: {provider: kvm, disks: [\n"))
    assert problem.position is not None and problem.position.line == 7
    assert problem.message.startswith("invalid YAML: ")


def test_control_character_is_a_problem_not_a_crash(tmp_path: Path) -> None:
    problem = only(errors(tmp_path, HEAD + "guests:\n  web: {provider: kvm\x07}\n"))
    assert problem.position == at(6, 22)
    assert problem.message == "invalid YAML: control character U+0007"


@pytest.mark.parametrize(("value", "tag"), [("!!int abc", "int"), ("!!bool maybe", "bool"),
                                            ("!!float x", "float"), ("!!timestamp x", "timestamp")])
def test_explicit_tag_that_cannot_be_read(tmp_path: Path, value: str, tag: str) -> None:
    error = errors(tmp_path, HEAD + f"guests:\n  web:\n    provider: kvm\n    image: {value}\n")
    first = error.problems[0]
    assert first.position == at(8, 12)
    assert first.path == "guests.web.image"
    assert first.message.endswith(f"cannot be read as tag:yaml.org,2002:{tag}")


def test_python_tag_is_refused(tmp_path: Path) -> None:
    problem = only(errors(tmp_path, HEAD + "guests:\n  web:\n    provider: kvm\n"
                                           "    image: !!python/name:os.system x\n"))
    assert problem.path == "guests.web.image"
    assert "could not determine a constructor" in problem.message


def test_recursive_alias_is_a_problem_not_a_crash(tmp_path: Path) -> None:
    error = errors(tmp_path, HEAD + "guests:\n  web: &web\n    provider: kvm\n    options: *web\n")
    # The problem is where the alias is written, not where its anchor is.
    assert error.problems[0] == StackProblem(at(8, 14), "guests.web.options",
                                        "an alias refers to a node that contains it",
                                        "a stack cannot be recursive; copy the values instead")


def test_empty_file(tmp_path: Path) -> None:
    problem = only(errors(tmp_path, "# nothing here yet\n"))
    assert problem == StackProblem(at(1, 1), "", "the file is empty",
                              "start it with apiVersion: provisioner/v1")


def test_file_that_is_not_a_mapping(tmp_path: Path) -> None:
    problem = only(errors(tmp_path, "- web\n- db\n"))
    assert problem == StackProblem(at(1, 1), "", "a stack file is a mapping of sections",
                              "start it with apiVersion: provisioner/v1")


def test_missing_api_version_and_stack_name(tmp_path: Path) -> None:
    error = errors(tmp_path, "guests: {}\n")
    assert [(p.position, p.path, p.message) for p in error.problems] == [
        (at(1, 1), "apiVersion", "missing required key 'apiVersion'"),
        (at(1, 1), "stack", "missing required key 'stack'"),
    ]


# --- all at once ----------------------------------------------------------------------------


def test_every_problem_of_a_file_is_reported_at_once(tmp_path: Path) -> None:
    error = errors(tmp_path, HEAD + dedent("""\
        guests:
          web:
            provider: kvm
            cpu: 2
            memory: 2 gigs
            networks: [{network: lab}]
            depends_on: [guests.db]
          db:
            provider: kvm
            depends_on: [guests.web]
          Bad:
            provider: kmv
        """))
    # guests.web is invalid, yet db's reference to it is not "unknown resource".
    assert [(p.position, p.path) for p in error.problems] == [
        (at(8, 5), "guests.web.cpu"),
        (at(9, 13), "guests.web.memory"),
        (at(15, 3), "guests.Bad"),
        (at(16, 15), "guests.Bad.provider"),
    ]
    # The resolver runs on the entries that validated, so references and cycles are
    # checked in the same run as the schema.
    error = errors(tmp_path, HEAD + dedent("""\
        guests:
          web:
            provider: kvm
            image: ${var.nope}
            networks: [{network: lab}]
            depends_on: [guests.db]
          db:
            provider: kvm
            depends_on: [guests.web]
            cloud_init: {user_data: missing.yaml}
        """))
    lines = str(error).splitlines()
    assert lines[0] == "stack.yaml:8:12: guests.web.image: unknown variable 'nope' in '${var.nope}'"
    assert lines[1] == "  hint: declare it under variables:"
    assert lines[2] == "stack.yaml:9:26: guests.web.networks[0].network: unknown network 'lab'"
    assert lines[3] == "  hint: no networks are declared"
    assert lines[4] == ("stack.yaml:13:17: guests.db.depends_on: dependency cycle: "
                        "guests.db -> guests.web -> guests.db")
    assert lines[5] == "  hint: remove one of these references; creation needs an order"
    assert lines[6].startswith("stack.yaml:14:29: guests.db.cloud_init.user_data: cannot read")
    assert lines[-1] == "4 problems in the stack."
    assert error.hint == "fix the lines above, then run `provisioner validate` again"


def test_problems_of_every_file_of_a_directory_stack_come_together(tmp_path: Path) -> None:
    write(tmp_path, HEAD + "guests:\n  web: {provider: kvm, cpu: 2}\n", "a.yaml")
    write(tmp_path, "apiVersion: provisioner/v1\nvolumes:\n  data: {provider: kvm, size: 1}\n",
          "b.yaml")
    with pytest.raises(StackError) as caught:
        load_stack(tmp_path, environ={}, cwd=tmp_path)
    assert [(p.position, p.path) for p in caught.value.problems] == [
        (at(6, 24, "a.yaml"), "guests.web.cpu"),
        (at(3, 31, "b.yaml"), "volumes.data.size"),
    ]


# --- fixed addresses ---------------------------------------------------------------------------

LAN = """\
networks:
  lan: {provider: kvm, cidr: 10.42.0.0/24}
"""


def test_fixed_addresses_are_checked_across_the_stack(tmp_path: Path) -> None:
    error = errors(tmp_path, HEAD + LAN + dedent("""\
        guests:
          a: {provider: kvm, networks: [{network: lan, mac: "52:54:00:00:00:01", ip: 10.42.0.10}]}
          b: {provider: kvm, networks: [{network: lan, mac: "52:54:00:00:00:01", ip: 10.42.0.10}]}
          c: {provider: kvm, networks: [{network: lan, ip: 10.43.0.10}]}
          d: {provider: kvm, networks: [{network: lan, ip: 10.42.0.1}]}
        """))
    assert [(p.position, p.path, p.message) for p in error.problems] == [
        (at(9, 53), "guests.b.networks[0].mac",
         "MAC 52:54:00:00:00:01 is also guests.a's: two NICs with one MAC lose the network"),
        (at(9, 78), "guests.b.networks[0].ip", "10.42.0.10 on network lan is also guests.a's"),
        (at(10, 52), "guests.c.networks[0].ip", "10.43.0.10 is not in network lan (10.42.0.0/24)"),
        (at(11, 52), "guests.d.networks[0].ip",
         "10.42.0.1 is network lan's own address (network, gateway or broadcast)"),
    ]


def test_a_counted_guest_builds_its_addresses_from_the_index(tmp_path: Path) -> None:
    body = HEAD + LAN + dedent("""\
        guests:
          web:
            provider: kvm
            count: COUNT
            networks: [{network: lan, mac: "52:54:00:00:00:1${count.index}",
                        ip: "10.42.0.1${count.index}"}]
        """)
    stack = load_stack(write(tmp_path, body.replace("COUNT", "3")), None, {}, cwd=tmp_path)
    nics = [r.spec["networks"][0] for r in stack.resources if r.address.kind.value == "guests"]
    assert [(n["mac"], n["ip"]) for n in nics] == [
        ("52:54:00:00:00:10", "10.42.0.10"), ("52:54:00:00:00:11", "10.42.0.11"),
        ("52:54:00:00:00:12", "10.42.0.12")]
    error = errors(tmp_path, body.replace("COUNT", "120"))
    assert [(p.path, p.message) for p in error.problems] == [
        ("guests.web.networks[0].mac",
         "guests.web-10 gets the MAC '52:54:00:00:00:110', which is not one"),
        ("guests.web.networks[0].ip",
         "guests.web-100 gets the address '10.42.0.1100', which is not one"),
    ]


def test_a_literal_address_in_a_counted_guest_is_refused_with_the_way_out(
        tmp_path: Path) -> None:
    problem = only(errors(tmp_path, HEAD + LAN + dedent("""\
        guests:
          web: {provider: kvm, count: 2, networks: [{network: lan, ip: 10.42.0.10}]}
        """)))
    assert problem.message == "10.42.0.10 on network lan is also guests.web-0's"
    assert problem.hint == ("each instance of a counted guest gets the same ip: build it from "
                            "${count.index}, or leave it out")


def test_a_template_that_is_no_address_for_index_0_is_refused_at_once(tmp_path: Path) -> None:
    problem = only(errors(tmp_path, HEAD + LAN + dedent("""\
        guests:
          web:
            provider: kvm
            count: 2
            networks: [{network: lan, mac: "52:54:00:00:00:${count.index}"}]
        """)))
    assert problem.path == "guests.web.networks[0].mac"
    assert problem.message.startswith("with ${count.index} = 0: '52:54:00:00:00:0' is not a MAC")


def test_two_nics_of_one_guest_with_one_mac_are_refused(tmp_path: Path) -> None:
    problem = only(errors(tmp_path, HEAD + LAN + dedent("""\
        guests:
          a:
            provider: kvm
            networks: [{network: lan, mac: "52:54:00:00:00:01"},
                       {network: lan, mac: "52:54:00:00:00:01"}]
        """)))
    assert problem.path == "guests.a.networks[1].mac"
    assert problem.message == ("MAC 52:54:00:00:00:01 is also guests.a's: two NICs with one "
                               "MAC lose the network")
    assert problem.hint == "give each NIC its own MAC, or leave mac out (one is made)"


def test_count_index_in_a_resource_without_count_is_refused_where_written(
        tmp_path: Path) -> None:
    error = errors(tmp_path, HEAD + LAN + dedent("""\
        guests:
          a:
            provider: kvm
            image: "debian-${count.index}"
            networks: [{network: lan, ip: "10.42.0.1${count.index}"}]
        """))
    assert [(p.path, p.message) for p in error.problems] == [
        ("guests.a.image", "${count.index} is known only in a resource with count"),
        ("guests.a.networks[0].ip", "${count.index} is known only in a resource with count"),
    ]
