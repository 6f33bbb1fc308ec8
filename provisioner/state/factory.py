"""Which state store a command uses: the stack's ``state:`` block, or the flags.

- local (default): SQLite in ``.provisioner/STACK.db`` beside the stack, or
  ``state.path``, or ``--state PATH``;
- postgres: ``state: {backend: postgres, dsn: ${env.PROVISIONER_PG_DSN}}``, or
  ``--state-backend postgres`` with the DSN in ``PROVISIONER_PG_DSN``.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING

from provisioner.errors import MissingExtraError, UsageError
from provisioner.state.store import StateStore

if TYPE_CHECKING:
    from provisioner.stack.loader import Stack

STATE_DIRECTORY = ".provisioner"
DSN_VARIABLE = "PROVISIONER_PG_DSN"


def default_state_path(stack: Stack) -> Path:
    """``.provisioner/<stack>.db`` beside the stack, unless the stack says otherwise."""
    if stack.state.path:
        path = Path(stack.state.path)
        return path if path.is_absolute() else stack.root / path
    return stack.root / STATE_DIRECTORY / f"{stack.name}.db"


def open_store(stack: Stack, path: Path | None = None, backend: str | None = None) -> StateStore:
    """The store for ``stack``; ``path`` and ``backend`` are the command-line overrides."""
    chosen = backend or ("local" if path is not None else stack.state.backend)
    if chosen == "local":
        from provisioner.state.local import SQLiteStore

        return SQLiteStore(path or default_state_path(stack))
    if chosen != "postgres":
        raise UsageError(f"unknown state backend '{chosen}'", hint="use local or postgres")
    return open_postgres(stack.name, _dsn(stack, backend))


def _dsn(stack: Stack, backend: str | None) -> str:
    if backend is None and stack.state.dsn is not None:
        return stack.state.dsn.get_secret_value()
    dsn = os.environ.get(DSN_VARIABLE)
    if not dsn:
        raise UsageError(f"the postgres state backend needs {DSN_VARIABLE}",
                         hint=f"export {DSN_VARIABLE}=postgresql://USER@HOST/DB (or set "
                              "state.dsn in the stack from the environment)")
    return dsn


def open_postgres(stack: str, dsn: str) -> StateStore:
    try:
        from provisioner.state.postgres import PostgresStore
    except ModuleNotFoundError as exc:
        if exc.name and exc.name.startswith("psycopg"):
            raise MissingExtraError("postgres state", "psycopg", "postgres") from exc
        raise
    store: StateStore = PostgresStore(dsn, stack)
    return store
