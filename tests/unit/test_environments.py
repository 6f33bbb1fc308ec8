"""Environments (``--env NAME``): env/NAME.yaml over the stack, precedence, positions,
and the identity each environment's state and objects carry."""

from __future__ import annotations

from pathlib import Path
from textwrap import dedent

import pytest

from provisioner.core.file_access import FileRefused
from provisioner.errors import Position, StackError, UsageError
from provisioner.stack.loader import Stack, load_stack
from provisioner.stack.variables import VariableInputs
from provisioner.state.backends import StoreRequest, default_state_path

STACK = """\
apiVersion: provisioner/v1
stack: lab
providers:
  kvm: {type: libvirt, uri: "test:///default"}
variables:
  memory: {default: 1GiB}
  cpus: {default: 1}
  token: {default: none-here, sensitive: true}
networks:
  lab: {provider: kvm, mode: nat, cidr: 10.1.0.0/24}
guests:
  web:
    provider: kvm
    memory: ${var.memory}
    cpus: ${var.cpus}
    networks: [{network: lab}]
    lifecycle: {prevent_destroy: false}
"""


def stack_dir(tmp_path: Path, env: str | None = None, name: str = "prod") -> Path:
    (tmp_path / "stack.yaml").write_text(STACK)
    if env is not None:
        (tmp_path / "env").mkdir(exist_ok=True)
        (tmp_path / "env" / f"{name}.yaml").write_text(dedent(env))
    return tmp_path


def load(tmp_path: Path, environment: str | None = "prod",
         inputs: VariableInputs | None = None) -> Stack:
    return load_stack(tmp_path, inputs, {}, cwd=tmp_path, environment=environment)


def web(stack: Stack) -> dict[str, object]:
    resource = next(r for r in stack.resources if r.address.name == "web")
    return dict(resource.spec)


def problems(tmp_path: Path, env: str) -> list[tuple[Position | None, str]]:
    stack_dir(tmp_path, env)
    with pytest.raises(StackError) as caught:
        load(tmp_path)
    assert "Traceback" not in str(caught.value)
    return [(p.position, p.message) for p in caught.value.problems]


def test_precedence_defaults_then_env_file_then_var_file_then_var(tmp_path: Path) -> None:
    stack_dir(tmp_path, """\
        variables:
          memory: 2GiB
          cpus: 2
        """)
    (tmp_path / "more.yaml").write_text("cpus: 3\n")
    assert web(load(tmp_path, None))["memory"] == 1024**3
    from_env = load(tmp_path)
    assert (web(from_env)["memory"], web(from_env)["cpus"]) == (2 * 1024**3, 2)
    from_file = load(tmp_path, inputs=VariableInputs(files=[tmp_path / "more.yaml"]))
    assert (web(from_file)["memory"], web(from_file)["cpus"]) == (2 * 1024**3, 3)
    from_flag = load(tmp_path, inputs=VariableInputs(("cpus=4",), [tmp_path / "more.yaml"]))
    assert web(from_flag)["cpus"] == 4


def test_overrides_merge_deeply_and_a_list_replaces(tmp_path: Path) -> None:
    stack_dir(tmp_path, """\
        providers:
          kvm: {uri: "test:///other"}
        guests:
          web:
            memory: 8GiB
            lifecycle: {prevent_destroy: true}
            networks: []
        """)
    stack = load(tmp_path)
    assert stack.providers["kvm"].config.uri == "test:///other"  # type: ignore[attr-defined]
    spec = web(stack)
    assert spec["memory"] == 8 * 1024**3 and spec["cpus"] == 1 and spec["networks"] == []
    guest = next(r for r in stack.resources if r.address.name == "web")
    assert guest.lifecycle.prevent_destroy is True
    assert stack.environment == "prod" and stack.identity == "lab--prod"


def test_the_stack_digest_covers_the_env_file(tmp_path: Path) -> None:
    # a saved plan is refused when the environment's overrides changed since
    stack_dir(tmp_path, "guests: {web: {memory: 2GiB}}\n")
    before = load(tmp_path).digest
    stack_dir(tmp_path, "guests: {web: {memory: 3GiB}}\n")
    assert load(tmp_path).digest != before


def test_an_empty_section_or_file_adjusts_nothing(tmp_path: Path) -> None:
    stack_dir(tmp_path, "variables:\nguests:\n")
    assert web(load(tmp_path)) == web(load(tmp_path, None))
    stack_dir(tmp_path, "# nothing yet\n")
    assert load(tmp_path).identity == "lab--prod"


def test_without_env_the_identity_is_the_stack_name(tmp_path: Path) -> None:
    stack_dir(tmp_path, "variables: {cpus: 2}\n")
    stack = load(tmp_path, None)
    assert stack.environment is None and stack.identity == "lab"
    assert web(stack)["cpus"] == 1


def test_an_env_file_is_never_a_stack_file_of_the_directory(tmp_path: Path) -> None:
    # a file under env/ that looks like a stack file is still not read without --env
    stack_dir(tmp_path, "apiVersion: provisioner/v1\nguests: {db: {provider: kvm}}\n")
    stack = load(tmp_path, None)
    assert {r.address.name for r in stack.resources} == {"lab", "web"}
    assert all("env" not in path.parts for path in stack.files)


def test_overriding_an_undeclared_name_is_an_error_at_the_env_files_line(
        tmp_path: Path) -> None:
    found = problems(tmp_path, """\
        guests:
          wbe: {memory: 8GiB}
        """)
    assert found == [(Position("env/prod.yaml", 2, 3),
                      "'wbe' is not declared in the stack's guests: an environment adjusts "
                      "what the stack declares")]


def test_a_bad_value_from_the_env_file_is_shown_at_its_line(tmp_path: Path) -> None:
    found = problems(tmp_path, """\
        guests:
          web:
            memory: lots
        """)
    assert len(found) == 1 and found[0][0] == Position("env/prod.yaml", 3, 13), found


def test_env_variables_must_be_declared_and_well_typed(tmp_path: Path) -> None:
    found = problems(tmp_path, """\
        variables:
          memroy: 2GiB
          cpus: [1]
          token: 123
        """)
    positions = {position: message for position, message in found}
    assert positions[Position("env/prod.yaml", 2, 3)] == "'memroy' is not a declared variable"
    assert "env/prod.yaml gives 'cpus'" in positions[Position("env/prod.yaml", 3, 3)]
    assert "123" not in positions[Position("env/prod.yaml", 4, 3)]  # never shown


@pytest.mark.parametrize("key", ["stack", "state", "apiVersion"])
def test_an_environment_cannot_change_the_stacks_own_keys(tmp_path: Path, key: str) -> None:
    found = problems(tmp_path, f"{key}: other\n")
    assert found == [(Position("env/prod.yaml", 1, 1), f"an environment cannot set '{key}'")]


def test_an_unknown_section_suggests_the_right_one(tmp_path: Path) -> None:
    stack_dir(tmp_path, "guest: {web: {cpus: 2}}\n")
    with pytest.raises(StackError) as caught:
        load(tmp_path)
    (problem,) = caught.value.problems
    assert problem.position == Position("env/prod.yaml", 1, 1)
    assert "did you mean 'guests'" in problem.hint


def test_a_missing_environment_lists_those_there_are(tmp_path: Path) -> None:
    stack_dir(tmp_path, "variables: {cpus: 2}\n", name="dev")
    stack_dir(tmp_path, "variables: {cpus: 3}\n", name="prod")
    with pytest.raises(UsageError) as caught:
        load(tmp_path, "staging")
    assert "no environment 'staging'" in caught.value.message
    assert caught.value.hint == "environments of this stack: dev, prod"


@pytest.mark.parametrize("name", ["Prod", "a--b", "default", "-x", "x" * 33])
def test_environment_names_are_checked(tmp_path: Path, name: str) -> None:
    stack_dir(tmp_path, "variables: {cpus: 2}\n")
    with pytest.raises(UsageError):
        load(tmp_path, name)


def test_an_env_file_leading_outside_the_stack_is_refused(tmp_path: Path) -> None:
    outside = tmp_path / "outside.yaml"
    outside.write_text("variables: {cpus: 2}\n")
    (tmp_path / "lab").mkdir()
    stack_dir(tmp_path / "lab")
    (tmp_path / "lab" / "env").mkdir()
    (tmp_path / "lab" / "env" / "prod.yaml").symlink_to(outside)
    with pytest.raises(FileRefused) as caught:
        load(tmp_path / "lab")
    assert "outside the directories provisioner may use files from" in caught.value.message


def test_each_environment_has_its_own_state_file(tmp_path: Path) -> None:
    stack_dir(tmp_path, "variables: {cpus: 2}\n")
    stack = load(tmp_path)
    request = StoreRequest(stack.identity, tmp_path, stack.state, environment="prod")
    assert default_state_path(request) == tmp_path / ".provisioner" / "lab--prod.db"
    plain = load(tmp_path, None)
    assert default_state_path(StoreRequest(plain.identity, tmp_path, plain.state)) == \
        tmp_path / ".provisioner" / "lab.db"
    given = stack.state.model_copy(update={"path": "states/lab.db"})
    assert default_state_path(StoreRequest(stack.identity, tmp_path, given,
                                           environment="prod")) == \
        tmp_path / "states" / "lab--prod.db"
