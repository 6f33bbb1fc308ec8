"""A PostgreSQL server for the postgres state backend's tests.

- ``pg_dsn`` (session): the DSN of the private cluster of ``scripts/postgres``
  (role, password and database ``provisioner`` on 127.0.0.1:55432). Started
  when it is not running, and stopped again at the end of the session in that
  case; the test fails, with the script's output, when it cannot be started.
- ``pg_stack``: a stack name no other test uses: stacks share the database,
  every row is keyed by stack, so each test sees only its own rows.
- ``pg_fresh_database``: the DSN of a new, empty database (dropped afterwards),
  for tests of the schema itself.

Starting the bundled cluster needs root, as the script does.
"""

from __future__ import annotations

import os
import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "postgres"


def _script(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(SCRIPT), *args], capture_output=True, text=True, timeout=600,
                          check=False, stdin=subprocess.DEVNULL)


@pytest.fixture(scope="session")
def pg_dsn() -> Iterator[str]:
    if os.geteuid() != 0:
        pytest.fail("the PostgreSQL tests start a private cluster with scripts/postgres: run "
                    "them as root", pytrace=False)
    started = _script("status").returncode != 0
    if started:
        result = _script("start")
        if result.returncode != 0:
            pytest.fail(f"scripts/postgres start failed:\n{result.stdout}{result.stderr}",
                        pytrace=False)
    try:
        yield _script("dsn").stdout.strip()
    finally:
        if started:
            _script("stop")


@pytest.fixture
def pg_stack() -> str:
    return f"test-{uuid.uuid4().hex[:12]}"


@pytest.fixture
def pg_fresh_database(pg_dsn: str) -> Iterator[str]:
    import psycopg
    from psycopg import sql
    from psycopg.conninfo import make_conninfo

    name = f"provisioner_test_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(pg_dsn, autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    try:
        yield make_conninfo(pg_dsn, dbname=name)
    finally:
        with psycopg.connect(pg_dsn, autocommit=True) as conn:
            conn.execute(sql.SQL("DROP DATABASE {} WITH (FORCE)").format(sql.Identifier(name)))
