"""The secret canary: a known secret set in a provider block (from a sensitive
variable and from the environment; in the "sops" runs from a SOPS-encrypted
var-file and an encrypted value of a stack file) and in a cloud-init file must
appear in no output of any command, in any format, with --debug, nor in plan
files, state (SQLite and PostgreSQL) or error texts."""

from __future__ import annotations

import os
import stat
import subprocess
import textwrap
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from support.libvirt_node import node_uri, write_stack
from support.sops_writer import SopsWriter, new_identity

CANARY = "canary-7f1d-S3cr3t"
PROVISIONER = "provisioner"

COMMANDS: list[list[str]] = [
    ["validate"],
    ["plan"],
    ["plan", "--format", "json"],
    ["plan", "--format", "markdown"],
    ["plan", "--stats", "-o", "{plan}"],
    ["show", "{plan}"],
    ["show", "--json", "{plan}"],
    ["apply", "--auto-approve"],
    ["show"],
    ["show", "--json"],
    ["drift"],
    ["drift", "--format", "json"],
    ["drift", "--format", "markdown"],
    ["plan", "--refresh-only"],
    ["graph"],
    ["destroy", "--auto-approve"],
]


def _stack(directory: Path, uri: str, extra: str = "") -> Path:
    (directory / "secret.cloud.yaml").write_text(
        f"#cloud-config\nchpasswd: {{ list: 'root:{CANARY}' }}\n")
    return write_stack(directory, textwrap.dedent(f"""\
        apiVersion: provisioner/v1
        stack: canary
        variables:
          root_password: {{ type: string, sensitive: true }}
        providers:
          kvm:
            type: libvirt
            uri: "{uri}"
            username: admin
            password: "${{var.root_password}}"
          kvm2: {{ type: libvirt, uri: "{uri}", password: "${{env.CANARY_PASSWORD}}" }}
        guests:
          web:
            provider: kvm
            memory: 256MiB
            cloud_init: {{ user_data: secret.cloud.yaml }}
        {extra}"""))


def _run(args: list[str], directory: Path, env: dict[str, str]) -> str:
    result = subprocess.run([PROVISIONER, *args, "--debug"], cwd=directory, env=env,
                            text=True, capture_output=True, timeout=120, check=False)
    return result.stdout + result.stderr


@pytest.fixture(params=["local", "postgres"])
def backend(request: pytest.FixtureRequest) -> Iterator[dict[str, str]]:
    env = {**os.environ, "CANARY_PASSWORD": CANARY}
    if request.param == "postgres":
        dsn = request.getfixturevalue("pg_dsn")
        env["PROVISIONER_PG_DSN"] = dsn
        env["PROVISIONER_STATE_FLAGS"] = "postgres"
        yield env
        with psycopg.connect(dsn) as conn:
            conn.execute("DELETE FROM provisioner_applied WHERE stack = 'canary'")
    else:
        yield env


@pytest.fixture(params=["--var", "sops"])
def given(request: pytest.FixtureRequest, tmp_path: Path,
          backend: dict[str, str]) -> list[str]:
    """How the canary reaches the stack: the arguments that give root_password (in
    the "sops" runs, an encrypted stack file also sets a provider's password)."""
    if request.param == "--var":
        return ["--var", f"root_password={CANARY}"]
    identity, recipient = new_identity()
    (tmp_path / "age.key").write_text(identity + "\n")
    backend["SOPS_AGE_KEY_FILE"] = str(tmp_path / "age.key")
    writer = SopsWriter(age=[recipient], encrypted_regex="^(root_password|password)$")
    (tmp_path / "secret.vars.yaml").write_text(writer.dump({"root_password": CANARY}))
    (tmp_path / "secret.providers.yaml").write_text(writer.dump({
        "apiVersion": "provisioner/v1",
        "providers": {"kvm3": {"type": "libvirt", "uri": "test:///default",
                               "password": CANARY}}}))
    return ["--var-file", "secret.vars.yaml"]


def _flags(env: dict[str, str]) -> list[str]:
    return ["--state-backend", "postgres"] if env.get("PROVISIONER_STATE_FLAGS") else []


def test_the_secret_never_leaves(tmp_path: Path, backend: dict[str, str],
                                 given: list[str]) -> None:
    _stack(tmp_path, node_uri(tmp_path))
    plan_file = tmp_path / "canary.plan"
    outputs: dict[str, str] = {}
    for command in COMMANDS:
        args = [part.replace("{plan}", str(plan_file)) for part in command]
        if args[0] not in ("validate", "graph") and not (args[0] == "show" and len(args) > 1
                                                         and args[-1] == str(plan_file)):
            args += _flags(backend)
        args += [".", *given] if args[0] != "show" or \
            args[-1] != str(plan_file) else []
        outputs[" ".join(args)] = _run(args, tmp_path, backend)
    leaks = [command for command, text in outputs.items() if CANARY in text]
    assert leaks == [], f"the secret leaked in: {leaks}"
    assert "Apply complete" in outputs[next(k for k in outputs if k.startswith("apply"))]
    assert CANARY not in plan_file.read_text()
    assert stat.S_IMODE(plan_file.stat().st_mode) == 0o600
    for path in (tmp_path / ".provisioner").glob("*") if (tmp_path / ".provisioner").exists() \
            else []:
        assert CANARY.encode() not in path.read_bytes(), path
        assert stat.S_IMODE(path.stat().st_mode) == 0o600, path
    if "PROVISIONER_PG_DSN" in backend:
        _assert_not_in_postgres(backend["PROVISIONER_PG_DSN"])


def _assert_not_in_postgres(dsn: str) -> None:
    with psycopg.connect(dsn) as conn:
        tables = [row[0] for row in conn.execute(
            "SELECT tablename FROM pg_tables WHERE tablename LIKE 'provisioner_%'")]
        assert tables
        for table in tables:
            for row in conn.execute(f"SELECT * FROM {table}"):
                assert CANARY not in repr(row), table


def test_error_paths_never_quote_the_secret(tmp_path: Path) -> None:
    env = {**os.environ, "CANARY_PASSWORD": CANARY}
    unreachable = "qemu+tcp://127.0.0.1:9/system"
    _stack(tmp_path, unreachable)
    failures = [
        _run(["plan", ".", "--var", f"root_password={CANARY}"], tmp_path, env),
        _run(["apply", ".", "--auto-approve", "--var", f"root_password={CANARY}"],
             tmp_path, env),
    ]
    _stack(tmp_path, node_uri(tmp_path), extra="typo: [1]\n")
    failures.append(_run(["validate", ".", "--var", f"root_password={CANARY}"], tmp_path, env))
    (tmp_path / "vars.yaml").write_text(f"root_password: [{CANARY}]\n")
    _stack(tmp_path, node_uri(tmp_path))
    failures.append(_run(["plan", ".", "--var-file", "vars.yaml"], tmp_path, env))
    (tmp_path / "stack.yaml").write_text((tmp_path / "stack.yaml").read_text().replace(
        "memory: 256MiB", "memory: ${var.root_password}"))
    failures.append(_run(["plan", ".", "--var", f"root_password={CANARY}"], tmp_path, env))
    identity, recipient = new_identity()
    (tmp_path / "secret.vars.yaml").write_text(
        SopsWriter(age=[recipient]).dump({"root_password": CANARY}))
    for key in (identity, new_identity()[0]):  # used in memory: refused; a wrong key: refused
        failures.append(_run(["plan", ".", "--var-file", "secret.vars.yaml"], tmp_path,
                             {**env, "SOPS_AGE_KEY": key}))
    assert "sensitive variable 'root_password' would be shown" in failures[-2]
    assert "no age identity matches its recipients " + recipient in failures[-1]
    assert all("Error" in text for text in failures), failures
    assert "Traceback" in failures[0]  # --debug really showed the traceback
    assert [text for text in failures if CANARY in text] == []
