"""Files a stack or a flag names: only inside the stack's directory (or one the user
allows in PROVISIONER_ALLOW_PATHS), only regular files, only so big, never echoed.

Each case is what a pull request could do to a runner that plans it: name the
runner's files (``../../etc/shadow``, a symlink), a FIFO (a hang), ``/dev/zero``
(memory), a huge file.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from support.hostile_runner import SECRET, invoke, secret_file, spawn, write_stack

from provisioner.core.file_access import ALLOW_PATHS_VARIABLE, CLOUD_INIT_LIMIT, STACK_FILE_LIMIT

CLOUD_INIT_KEYS = ("user_data", "meta_data", "network_config")


def guest_with(key: str, value: str) -> str:
    return f"""\
        guests:
          web:
            provider: kvm
            memory: 256MiB
            cloud_init: {{ {key}: "{value}" }}
        """


def refused(outcome_text: str, line: int, key: str, reason: str) -> None:
    assert f"stack.yaml:{line}:" in outcome_text
    assert f"guests.web.cloud_init.{key}" in outcome_text
    assert reason in outcome_text
    assert SECRET not in outcome_text
    assert "internal error" not in outcome_text


@pytest.mark.parametrize("key", CLOUD_INIT_KEYS)
def test_a_cloud_init_file_outside_the_stack_directory_is_refused(tmp_path: Path,
                                                                  key: str) -> None:
    secret_file(tmp_path / "runner")
    stack = tmp_path / "repo" / "stack"
    write_stack(stack, guest_with(key, "../../runner/secret.txt"))
    outcome = invoke("validate", str(stack))
    assert outcome.code == 1
    refused(outcome.text, 9, key, "is outside the directories provisioner may use files from")
    assert ALLOW_PATHS_VARIABLE in outcome.text  # the hint says how to allow one


def test_an_absolute_cloud_init_path_is_refused(tmp_path: Path) -> None:
    secret = secret_file(tmp_path / "runner")
    stack = tmp_path / "stack"
    write_stack(stack, guest_with("user_data", str(secret)))
    outcome = invoke("plan", str(stack))
    assert outcome.code == 1
    refused(outcome.text, 9, "user_data", "outside the directories")


def test_a_symlink_in_the_stack_directory_to_a_file_outside_is_refused(tmp_path: Path) -> None:
    secret = secret_file(tmp_path / "runner")
    stack = tmp_path / "stack"
    write_stack(stack, guest_with("user_data", "web.cloud"))
    (stack / "web.cloud").symlink_to(secret)
    outcome = invoke("plan", str(stack))
    assert outcome.code == 1
    refused(outcome.text, 9, "user_data", f"(it leads to {secret})")


def test_a_directory_the_user_allows_may_hold_cloud_init_files(tmp_path: Path) -> None:
    shared = tmp_path / "shared"
    shared.mkdir()
    (shared / "base.cloud").write_text("#cloud-config\npackages: [htop]\n")
    stack = tmp_path / "stack"
    write_stack(stack, guest_with("user_data", "../shared/base.cloud"))
    assert invoke("validate", str(stack)).code == 1
    allowed = invoke("validate", str(stack), env={ALLOW_PATHS_VARIABLE: f"/nowhere:{shared}"})
    assert (allowed.code, allowed.stderr) == (0, "")


def test_a_fifo_named_as_cloud_init_file_is_refused_without_waiting(tmp_path: Path) -> None:
    stack = tmp_path / "stack"
    write_stack(stack, guest_with("user_data", "web.cloud"))
    os.mkfifo(stack / "web.cloud")
    outcome = spawn("validate", str(stack), timeout=30)  # before: waited for a writer forever
    assert outcome.code == 1
    refused(outcome.text, 9, "user_data", "is a FIFO, not a regular file")


def test_a_device_is_refused_even_in_an_allowed_directory(tmp_path: Path) -> None:
    stack = tmp_path / "stack"
    write_stack(stack, guest_with("user_data", "/dev/zero"))
    outcome = spawn("validate", str(stack), env=dict(os.environ, **{ALLOW_PATHS_VARIABLE: "/dev"}),
                    timeout=30, memory_mib=1024)  # before: read /dev/zero until memory ran out
    assert outcome.code == 1
    refused(outcome.text, 9, "user_data", "is a character device, not a regular file")


def test_a_cloud_init_file_larger_than_the_limit_is_refused(tmp_path: Path) -> None:
    stack = tmp_path / "stack"
    write_stack(stack, guest_with("user_data", "big.cloud"))
    (stack / "big.cloud").write_bytes(b"#cloud-config\n" + b"#" * CLOUD_INIT_LIMIT)
    outcome = invoke("validate", str(stack))
    assert outcome.code == 1
    refused(outcome.text, 9, "user_data", "is larger than 1 MiB")


def test_a_var_file_outside_the_stack_and_current_directories_is_refused(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    secret = secret_file(tmp_path / "runner")
    stack = tmp_path / "repo"
    write_stack(stack)
    monkeypatch.chdir(stack)
    outcome = invoke("validate", ".", "--var-file", str(secret))
    assert outcome.code == 1
    assert f"--var-file {secret}: {secret} is outside the directories" in outcome.text
    assert SECRET not in outcome.text


def test_a_var_file_symlink_to_a_file_outside_is_refused(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    secret = secret_file(tmp_path / "runner")
    stack = tmp_path / "repo"
    write_stack(stack)
    (stack / "ci.vars.yaml").symlink_to(secret)
    monkeypatch.chdir(stack)
    outcome = invoke("validate", ".", "--var-file", "ci.vars.yaml")
    assert outcome.code == 1
    assert f"(it leads to {secret})" in outcome.text
    assert SECRET not in outcome.text


def test_a_file_that_is_no_var_file_is_not_echoed(tmp_path: Path,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    """Before: every line of /etc/shadow was printed as "'root:...' is not a declared
    variable"."""
    stack = tmp_path / "repo"
    write_stack(stack)
    token = SECRET.split(":")[0]
    (stack / "shadow").write_text(f"root:{token}:19000:0:99999:7:::\n"
                                  f"daemon:{token}:19000:0:99999:7:::\n")
    monkeypatch.chdir(stack)
    outcome = invoke("validate", ".", "--var-file", "shadow")
    assert outcome.code == 1
    assert "shadow:1:1: 2 key(s) of this file are not variable names (not shown)" in outcome.text
    assert token not in outcome.text
    assert "root" not in outcome.text


def test_a_var_file_in_an_allowed_directory_is_read(tmp_path: Path,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    elsewhere = tmp_path / "etc"
    elsewhere.mkdir()
    (elsewhere / "prod.yaml").write_text("cpus: 2\n")
    stack = tmp_path / "repo"
    write_stack(stack, "variables:\n  cpus: { default: 1 }\n")
    monkeypatch.chdir(stack)
    outcome = invoke("validate", ".", "--var-file", str(elsewhere / "prod.yaml"),
                     env={ALLOW_PATHS_VARIABLE: str(elsewhere)})
    assert outcome.code == 0, outcome.text


def test_a_fifo_as_var_file_is_refused_without_waiting(tmp_path: Path) -> None:
    stack = tmp_path / "repo"
    write_stack(stack)
    os.mkfifo(stack / "ci.vars.yaml")
    outcome = spawn("validate", ".", "--var-file", "ci.vars.yaml", cwd=stack, timeout=30)
    assert outcome.code == 1
    assert "ci.vars.yaml is a FIFO, not a regular file" in outcome.stderr


@pytest.mark.parametrize("make", ["fifo", "device"])
def test_a_fifo_or_device_as_the_stack_path_is_a_plain_error(tmp_path: Path, make: str) -> None:
    path = tmp_path / "stack.yaml"
    if make == "fifo":
        os.mkfifo(path)
    else:
        path = Path("/dev/zero")
    outcome = spawn("validate", str(path), timeout=30, memory_mib=1024)
    assert outcome.code == 1
    kind = "a FIFO" if make == "fifo" else "a character device"
    assert f"Error: {path} is {kind}, not a stack file or directory" in outcome.stderr
    assert "internal error" not in outcome.text


def test_a_stack_file_larger_than_the_limit_is_refused(tmp_path: Path) -> None:
    path = write_stack(tmp_path)
    with path.open("a") as handle:
        handle.write("#" * STACK_FILE_LIMIT + "\n")
    outcome = invoke("validate", str(path))
    assert outcome.code == 1
    assert "stack.yaml:1:1: " in outcome.text
    assert "is larger than 2 MiB" in outcome.text


def test_a_yaml_link_in_the_stack_directory_to_a_file_outside_is_not_read(
        tmp_path: Path) -> None:
    outside = tmp_path / "runner"
    outside.mkdir()
    (outside / "other.yaml").write_text(f"apiVersion: provisioner/v1\nstack: files\n"
                                        f"guests:\n  x: {{ provider: kvm, image: '{SECRET}' }}\n")
    stack = tmp_path / "stack"
    write_stack(stack)
    (stack / "other.yaml").symlink_to(outside / "other.yaml")
    outcome = invoke("validate", str(stack), "--verbose")
    assert outcome.code == 0, outcome.text
    assert "other.yaml: a link to a file outside the stack's directory" in outcome.text
    assert SECRET not in outcome.text


def test_a_local_image_outside_the_stack_directory_is_refused(tmp_path: Path) -> None:
    secret = secret_file(tmp_path / "runner")
    stack = tmp_path / "stack"
    write_stack(stack, f"""\
        images:
          base: {{ url: "file://{secret}", format: raw }}
        guests:
          web: {{ provider: kvm, memory: 256MiB, image: base }}
        """)
    outcome = invoke("validate", str(stack))
    assert outcome.code == 1
    assert "stack.yaml:6:" in outcome.text and "images.base.url" in outcome.text
    assert "is outside the directories provisioner may use files from" in outcome.text
    assert SECRET not in outcome.text


@pytest.mark.parametrize("first_line", ["\ufeff#cloud-config", "## template: jinja"])
def test_cloud_init_data_with_a_bom_or_a_jinja_header_is_not_a_stack_file(
        tmp_path: Path, first_line: str) -> None:
    write_stack(tmp_path)
    (tmp_path / "web.yaml").write_text(f"{first_line}\n#cloud-config\n"
                                       "runcmd:\n  - echo {{ v1.local_hostname }}: ok\n",
                                       encoding="utf-8")
    outcome = invoke("validate", str(tmp_path), "--verbose")
    assert outcome.code == 0, outcome.text
    assert "web.yaml: cloud-init data" in outcome.text


def test_a_var_file_value_of_the_wrong_type_is_not_echoed(tmp_path: Path,
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    """A stack decides what is sensitive: one that declares `token: {type: integer}`
    must not get a var-file's secret printed in the type error."""
    stack = tmp_path / "repo"
    write_stack(stack, "variables:\n  token: { type: integer }\n")
    (stack / "prod.vars.yaml").write_text("token: canary-3f9a1c\n")
    monkeypatch.chdir(stack)
    outcome = invoke("validate", ".", "--var-file", "prod.vars.yaml")
    assert outcome.code == 1
    assert "gives 'token' the value of type str (not shown" in outcome.text
    assert "canary-3f9a1c" not in outcome.text
