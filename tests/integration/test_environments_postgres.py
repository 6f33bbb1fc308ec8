"""Environments and other stacks' outputs on the postgres state backend: the rows of
each environment are keyed by its identity (``app--prod``), and ``app`` reads
``core``'s recorded output from the same database. Each test has a database of its
own (``pg_fresh_database``)."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

from support.two_stacks import CANARY, write_two_stacks

PROVISIONER = shutil.which("provisioner") or "provisioner"


def run(*args: str, dsn: str) -> str:
    result = subprocess.run([PROVISIONER, *args, "--state-backend", "postgres"],
                            env={**os.environ, "PROVISIONER_PG_DSN": dsn}, text=True,
                            capture_output=True, timeout=60, check=False,
                            stdin=subprocess.DEVNULL)
    assert result.returncode == 0, result.stderr
    assert CANARY not in result.stdout + result.stderr
    return result.stdout


def test_environments_and_other_stacks_outputs_on_postgres(tmp_path: Path,
                                                           pg_fresh_database: str) -> None:
    import psycopg

    stacks = write_two_stacks(tmp_path)
    dsn = pg_fresh_database
    run("apply", str(stacks / "core"), "--auto-approve", "--var", "cidr=10.4.0.0/24",
        "--var", f"token={CANARY}", dsn=dsn)
    applied = run("apply", str(stacks / "app"), "--env", "prod", "--auto-approve", dsn=dsn)
    assert 'core_cidr = "10.4.0.0/24"' in applied
    assert "guests.web" in run("show", str(stacks / "app"), "--env", "prod", dsn=dsn)
    assert "(none applied yet)" in run("show", str(stacks / "app"), dsn=dsn)
    with psycopg.connect(dsn) as conn:
        rows = conn.execute("SELECT stack, count(*) FROM provisioner_applied "
                            "GROUP BY stack ORDER BY stack").fetchall()
        outputs = conn.execute("SELECT stack, name, value FROM provisioner_outputs "
                               "ORDER BY stack, name").fetchall()
    assert rows == [("app--prod", 2), ("core", 1)]
    assert ("app--prod", "core_cidr", '"10.4.0.0/24"') in outputs
    assert ("core", "token", '"(sensitive)"') in outputs
    assert not list((stacks / "app").glob(".provisioner/*.db")), "nothing local"
