"""Connecting to the PostgreSQL state server: options, and naming it without the DSN.

The DSN may carry a password: what this module returns for messages names
the server by host, port and database only.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import psycopg
from psycopg import errors as pg_errors
from psycopg.conninfo import conninfo_to_dict
from psycopg.rows import DictRow

from provisioner.errors import StateError

Connection = psycopg.Connection[DictRow]

REACH_HINT = ("check that the state server is reachable (host, port, firewall), that the "
              "user and password in the DSN are right, and that the database exists")

_CONNECT_TIMEOUT = 10
_KEEPALIVE = {"keepalives_idle": 30, "keepalives_interval": 10, "keepalives_count": 3}
"""A peer gone without closing its socket (host down, network cut) is noticed in about a
minute, not the system's two hours: by us (libpq's options), and by the server, which
so frees the advisory lock of a vanished holder (the same settings, sent as its GUCs)."""


def parse_dsn(dsn: str) -> dict[str, Any]:
    try:
        return conninfo_to_dict(dsn)
    except psycopg.Error:
        # Not chained: the parser's message quotes the DSN, password and all.
        raise StateError(
            "state server: the DSN is not a valid PostgreSQL connection string",
            hint="write it as postgresql://USER:PASSWORD@HOST:PORT/DATABASE (percent-encode "
                 "special characters) or as key=value pairs") from None


def connect_options(params: Mapping[str, Any], stack: str) -> dict[str, Any]:
    """Our defaults, each only where the DSN does not set it (the DSN wins)."""
    server_side = " ".join(f"-c tcp_{key}={value}" for key, value in _KEEPALIVE.items())
    defaults: dict[str, Any] = {"connect_timeout": _CONNECT_TIMEOUT,
                                "application_name": f"provisioner {stack}"[:63],
                                "options": server_side, **_KEEPALIVE}
    return {key: value for key, value in defaults.items() if key not in params}


def server_name(params: Mapping[str, Any]) -> str:
    host = params.get("host") or params.get("hostaddr") or "localhost"
    database = params.get("dbname") or params.get("user") or "(default database)"
    return f"{host}:{params.get('port') or 5432}/{database}"


def lost(conn: Connection | None) -> bool:
    return conn is not None and (conn.closed or conn.broken)


def hint(exc: psycopg.Error, lost: bool) -> str:
    if lost:
        return ("check that the state server is up and reachable; the next command "
                "reconnects, and `provisioner plan` shows where the stack stands")
    if isinstance(exc, pg_errors.InsufficientPrivilege):
        return ("the role needs to own the database (or CREATE on its schema) for the first "
                "run, then read and write on the provisioner_* tables")
    if isinstance(exc, psycopg.OperationalError):
        return REACH_HINT
    return "check the state server's log for this error"
