"""``--env`` and ``${stack.NAME.outputs.X}`` through the real console script.

Two stacks side by side (``core``, ``app``), as in a ``stacks/`` directory, on
libvirt's test driver: each process starts from the same node file, the SQLite
states carry over (tests/cli/test_cli.py says more).
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest
from support.two_stacks import CANARY, write_two_stacks

PROVISIONER = shutil.which("provisioner") or "provisioner"
READS_A_STACK = ["validate", "plan", "apply", "destroy", "show", "drift", "capacity", "graph",
                 "import", "force-unlock", "state migrate", "inventory", "ssh-config", "ssh",
                 "console", "snapshot create", "snapshot list", "snapshot revert",
                 "snapshot delete"]


def run(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([PROVISIONER, *args], env=env, text=True, capture_output=True,
                          timeout=60, check=False, stdin=subprocess.DEVNULL)


def ok(*args: str, env: dict[str, str] | None = None) -> str:
    result = run(*args, env=env)
    assert result.returncode == 0, result.stderr
    assert CANARY not in result.stdout + result.stderr
    return result.stdout


@pytest.fixture
def stacks(tmp_path: Path) -> Path:
    return write_two_stacks(tmp_path)


def test_every_command_that_reads_a_stack_takes_env() -> None:
    for command in READS_A_STACK:
        page = run(*command.split(), "--help")
        assert page.returncode == 0, page.stderr
        text = " ".join(page.stdout.split())  # as wrapped to any width
        assert "--env NAME" in text and "Example: --env prod" in text, command


def test_each_environment_is_its_own_state(stacks: Path) -> None:
    ok("apply", str(stacks / "core"), "--auto-approve")
    applied = ok("apply", str(stacks / "app"), "--env", "prod", "--auto-approve")
    assert "Environment: prod" in applied and 'core_cidr = "10.8.0.0/24"' in applied
    assert (stacks / "app" / ".provisioner" / "app--prod.db").is_file()
    prod = ok("show", str(stacks / "app"), "--env", "prod")
    assert prod.startswith("Stack app, environment prod") and "guests.web" in prod
    default = ok("show", str(stacks / "app"))
    assert "(none applied yet)" in default
    from_variable = ok("show", str(stacks / "app"), env={**os.environ, "PROVISIONER_ENV": "prod"})
    assert from_variable == prod


def test_plan_reads_the_other_stacks_output_and_json_names_the_environment(
        stacks: Path) -> None:
    refused = run("plan", str(stacks / "app"))
    assert refused.returncode == 1
    assert "stack 'core' has no recorded outputs" in refused.stderr
    assert "Traceback" not in refused.stderr
    assert run("validate", str(stacks / "app")).returncode == 1  # the same for validate
    ok("apply", str(stacks / "core"), "--auto-approve", "--var", "cidr=10.7.0.0/24")
    assert "Stack 'app' (environment prod) is valid" in ok("validate", str(stacks / "app"),
                                                           "--env", "prod")
    planned = ok("plan", str(stacks / "app"), "--env", "prod", "--json")
    assert '"environment": "prod"' in planned and '"cidr": "10.7.0.0/24"' in planned


def test_a_saved_plan_is_refused_when_the_other_stacks_output_changed(stacks: Path) -> None:
    ok("apply", str(stacks / "core"), "--auto-approve")
    plan_file = stacks / "app.plan"
    ok("plan", str(stacks / "app"), "-o", str(plan_file))
    ok("apply", str(stacks / "core"), "--auto-approve", "--var", "cidr=10.6.0.0/24")
    refused = run("apply", str(plan_file))
    assert refused.returncode == 1
    assert "outputs of other stacks that the stack reads" in refused.stderr
    assert "(none applied yet)" in ok("show", str(stacks / "app"))


def test_a_saved_plan_keeps_its_environment(stacks: Path) -> None:
    ok("apply", str(stacks / "core"), "--auto-approve")
    plan_file = stacks / "prod.plan"
    ok("plan", str(stacks / "app"), "--env", "prod", "-o", str(plan_file))
    (stacks / "app" / "env" / "dev.yaml").write_text("variables: {memory: 512MiB}\n")
    other = run("apply", str(plan_file), "--env", "dev")
    assert other.returncode == 1
    assert "the plan is for environment 'prod', not environment 'dev'" in other.stderr
    applied = ok("apply", str(plan_file))
    assert "Environment: prod" in applied
    assert "guests.web" in ok("show", str(stacks / "app"), "--env", "prod")


def test_a_sensitive_output_of_another_stack_is_never_shown(stacks: Path) -> None:
    ok("apply", str(stacks / "core"), "--auto-approve", "--var", f"token={CANARY}")
    app = stacks / "app" / "stack.yaml"
    app.write_text(app.read_text().replace(
        "core_cidr: ${stack.core--default.outputs.lab_cidr}",
        "core_token: ${stack.core--default.outputs.token}"))
    refused = run("plan", str(stacks / "app"))
    assert refused.returncode == 1
    assert "is sensitive" in refused.stderr and CANARY not in refused.stdout + refused.stderr
    shown = ok("show", str(stacks / "core"), "--json")
    assert '"token": "(sensitive)"' in shown
    for path in stacks.rglob("*"):
        if path.is_file():
            assert CANARY.encode() not in path.read_bytes(), path


def test_the_modules_example_applies_in_each_environment(tmp_path: Path) -> None:
    example = Path(__file__).resolve().parents[2] / "stacks" / "modules-example"
    counts = {}
    for env in ("dev", "prod"):
        state = str(tmp_path / f"{env}.db")
        applied = ok("apply", str(example), "--env", env, "--auto-approve", "--state", state)
        assert applied.startswith(f"Environment: {env}\n")
        counts[env] = applied.count(" created")
    assert counts["prod"] > counts["dev"] > 0, counts
