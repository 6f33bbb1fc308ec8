"""``plan -o FILE`` writes a plan file and nothing else; a damaged plan file is refused
plainly.

Before: ``-o`` overwrote the stack file, the state database (history, journal and
prevent_destroy memory gone) or the target of a symlink; an existing 0644 file
stayed 0644; a directory, a missing directory or /dev/full gave "internal error".
"""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path

import pytest
from support.hostile_runner import invoke, write_stack


@pytest.fixture
def stack(tmp_path: Path) -> Path:
    write_stack(tmp_path)
    return tmp_path


def plan_to(stack: Path, out: Path | str) -> tuple[int, str]:
    outcome = invoke("plan", str(stack), "-o", str(out))
    assert "internal error" not in outcome.text
    return outcome.code, outcome.stderr


def test_the_stack_file_is_not_overwritten(stack: Path) -> None:
    before = (stack / "stack.yaml").read_bytes()
    code, stderr = plan_to(stack, stack / "stack.yaml")
    assert code == 1
    assert "the file exists and is not a plan file; it is left as it is" in stderr
    assert (stack / "stack.yaml").read_bytes() == before


def test_the_state_database_is_not_overwritten(stack: Path) -> None:
    assert invoke("plan", str(stack)).code == 0
    database = stack / ".provisioner" / "files.db"
    before = database.read_bytes()
    code, _ = plan_to(stack, database)
    assert code == 1
    assert database.read_bytes() == before


def test_a_symlink_is_never_written_through(stack: Path, tmp_path_factory: pytest.TempPathFactory
                                           ) -> None:
    target = tmp_path_factory.mktemp("elsewhere") / "authorized_keys"
    target.write_text("ssh-ed25519 AAAA precious\n")
    (stack / "demo.plan").symlink_to(target)
    code, stderr = plan_to(stack, stack / "demo.plan")
    assert code == 1
    assert "is a symbolic link; provisioner does not write through one" in stderr
    assert target.read_text() == "ssh-ed25519 AAAA precious\n"
    assert (stack / "demo.plan").is_symlink()


def test_a_symlink_to_a_plan_file_is_not_written_through_either(stack: Path) -> None:
    assert plan_to(stack, stack / "real.plan")[0] == 0
    (stack / "link.plan").symlink_to(stack / "real.plan")
    assert plan_to(stack, stack / "link.plan")[0] == 1


@pytest.mark.parametrize(("out", "message"), [
    ("{stack}", "is a directory, not a file to write a plan file to"),
    ("{stack}/missing/demo.plan", "the directory {stack}/missing does not exist"),
    ("/dev/full", "is a character device, not a file to write a plan file to"),
])
def test_a_place_that_cannot_hold_a_plan_file_is_a_plain_error(stack: Path, out: str,
                                                                message: str) -> None:
    code, stderr = plan_to(stack, out.format(stack=stack))
    assert code == 1
    assert message.format(stack=stack) in stderr


def test_an_existing_plan_file_is_replaced_and_made_private(stack: Path) -> None:
    out = stack / "demo.plan"
    assert plan_to(stack, out)[0] == 0
    out.chmod(0o644)
    assert plan_to(stack, out)[0] == 0
    assert stat.S_IMODE(out.stat().st_mode) == 0o600
    assert json.loads(out.read_text())["format"] == "provisioner-plan"
    assert sorted(p.name for p in stack.iterdir() if p.name.startswith(".demo")) == []


def test_a_new_plan_file_is_private_under_any_umask(stack: Path) -> None:
    previous = os.umask(0)
    try:
        assert plan_to(stack, stack / "demo.plan")[0] == 0
    finally:
        os.umask(previous)
    assert stat.S_IMODE((stack / "demo.plan").stat().st_mode) == 0o600


@pytest.mark.parametrize("command", ["apply", "show"])
@pytest.mark.parametrize("missing", ["stack_digest", "options", "fingerprints", "plan"])
def test_a_plan_file_missing_a_key_is_a_plain_error(stack: Path, command: str,
                                                    missing: str) -> None:
    out = stack / "demo.plan"
    assert plan_to(stack, out)[0] == 0
    body = json.loads(out.read_text())
    del body[missing]
    out.write_text(json.dumps(body))
    outcome = invoke(command, str(out))
    assert outcome.code == 1
    assert f"a damaged plan file: '{missing}' is missing" in outcome.stderr
    assert "internal error" not in outcome.text


def test_a_plan_file_with_a_mistyped_value_is_a_plain_error(stack: Path) -> None:
    out = stack / "demo.plan"
    assert plan_to(stack, out)[0] == 0
    body = json.loads(out.read_text())
    body["plan"]["changes"] = [{"address": 1}]
    out.write_text(json.dumps(body))
    outcome = invoke("apply", str(out))
    assert outcome.code == 1
    assert "a damaged plan file" in outcome.stderr
    assert "internal error" not in outcome.text
