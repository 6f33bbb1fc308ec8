"""State backends, registered by name as provider plugins are.

A backend owns the keys of the stack's ``state:`` block it reads (its settings
model), what it refuses in them, and how its store is opened:

- local (default): SQLite in ``.provisioner/STACK.db`` beside the stack, or
  ``state.path``, or ``--state PATH``;
- postgres: ``state: {backend: postgres, dsn: ${env.PROVISIONER_PG_DSN}}``, or
  ``--state-backend postgres`` with the DSN in ``PROVISIONER_PG_DSN``.

This module stays light (no database driver): the loader imports it to
validate stacks. The stack's ``StateConfig`` (stack/model.py) is made of the
backends' settings models; a new backend adds its descriptor here and its
settings model there.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from pydantic import BaseModel, Field, SecretStr

from provisioner.errors import MissingExtraError, UsageError

if TYPE_CHECKING:
    from provisioner.stack.model import StateConfig
    from provisioner.state.store import StateStore

STATE_DIRECTORY = ".provisioner"
DSN_VARIABLE = "PROVISIONER_PG_DSN"


class LocalSettings(BaseModel):
    """The local backend's keys of ``state:``."""

    path: str | None = Field(
        None, description="local: SQLite file; default .provisioner/<stack>.db beside the stack"
    )


class PostgresSettings(BaseModel):
    """The postgres backend's keys of ``state:``."""

    dsn: SecretStr | None = Field(
        None, description="postgres: connection string, from the environment: "
                          "${env.PROVISIONER_PG_DSN}"
    )


@dataclass(frozen=True)
class StoreRequest:
    """What a backend opens its store from."""

    stack: str
    """The stack's identity: its name, and its environment's (``lab--prod``)."""
    root: Path
    """The stack's directory."""
    settings: StateConfig
    """The stack's ``state:`` block (every backend's settings)."""
    path: Path | None = None
    """``--state PATH``: the local file to use."""
    by_flag: bool = False
    """``--state-backend`` chose the backend: the block's settings may be another's."""
    environment: str | None = None
    """``--env``: a ``state.path`` the stack gives is the default environment's file."""


@dataclass(frozen=True)
class StateBackend:
    """One kind of state store."""

    name: str
    settings: type[BaseModel]
    """The keys of ``state:`` it reads."""
    open: Callable[[StoreRequest], StateStore]
    """Open the store; raises UsageError for missing settings, StateError if it cannot
    be reached, MissingExtraError if its driver is not installed."""
    refuse: Callable[[StateConfig, str], str | None] = lambda settings, chosen: None
    """Given the ``state:`` block and the backend it chooses, what is wrong with this
    backend's keys in it (None: nothing)."""


def default_state_path(request: StoreRequest) -> Path:
    """``.provisioner/<stack>.db`` beside the stack (``<stack>--<env>.db`` for an
    environment), unless the stack says otherwise (``state.path``: ``lab.db`` is
    ``lab--prod.db`` in environment ``prod``)."""
    if request.settings.path:
        path = Path(request.settings.path)
        if request.environment is not None:
            path = path.with_name(f"{path.stem}--{request.environment}{path.suffix}")
        return path if path.is_absolute() else request.root / path
    return request.root / STATE_DIRECTORY / f"{request.stack}.db"


def _open_local(request: StoreRequest) -> StateStore:
    """``--state PATH`` is the user's; a path the stack gives (or the default beside it)
    must stay in the stack's directory or one the user allows (core/file_access.py):
    the stack must not make the runner create or change files elsewhere."""
    from provisioner.core.file_access import allowed_directories, confined
    from provisioner.state.local import SQLiteStore

    if request.path is not None:
        return SQLiteStore(request.path)
    path = default_state_path(request)
    confined(path, allowed_directories(request.root), "state.path")
    return SQLiteStore(path)


def _open_postgres(request: StoreRequest) -> StateStore:
    dsn = _dsn(request)
    try:
        from provisioner.state.postgres import PostgresStore
    except ModuleNotFoundError as exc:
        if exc.name and exc.name.startswith("psycopg"):
            raise MissingExtraError("postgres state", "psycopg", "postgres") from exc
        raise
    store: StateStore = PostgresStore(dsn, request.stack)
    return store


def _dsn(request: StoreRequest) -> str:
    configured = request.settings.dsn
    if not request.by_flag and configured is not None:
        return configured.get_secret_value()
    dsn = os.environ.get(DSN_VARIABLE)
    if not dsn:
        raise UsageError(f"the postgres state backend needs {DSN_VARIABLE}",
                         hint=f"export {DSN_VARIABLE}=postgresql://USER@HOST/DB (or set "
                              "state.dsn in the stack from the environment)")
    return dsn


def _refuse_postgres(settings: StateConfig, chosen: str) -> str | None:
    """The DSN is needed by postgres, and a secret for nothing elsewhere. (``path:``
    may stay beside it: it names the local file ``state migrate`` copies from.)"""
    if chosen == "postgres" and settings.dsn is None:
        return "backend postgres needs `dsn:`, such as ${env.PROVISIONER_PG_DSN}"
    if chosen != "postgres" and settings.dsn is not None:
        keys = ", ".join(f"`{key}:`" for key in BACKENDS[chosen].settings.model_fields)
        return f"`dsn:` is for backend postgres; the {chosen} backend uses {keys}"
    return None


BACKENDS: dict[str, StateBackend] = {
    "local": StateBackend("local", LocalSettings, _open_local),
    "postgres": StateBackend("postgres", PostgresSettings, _open_postgres, _refuse_postgres),
}
"""Every state backend, by the name ``state.backend`` and ``--state-backend`` give."""

if TYPE_CHECKING:
    BackendName = str
else:
    BackendName = Literal[tuple(BACKENDS)]
    """One of the registered names (a Literal: the loader's message and the JSON Schema
    list them)."""


def get_backend(name: str) -> StateBackend:
    """The backend named ``name``; raises UsageError naming the registered ones."""
    backend = BACKENDS.get(name)
    if backend is None:
        raise UsageError(f"unknown state backend '{name}'", hint="use " + " or ".join(BACKENDS))
    return backend


def settings_problem(settings: StateConfig, chosen: str) -> str | None:
    """What the backends refuse in the ``state:`` block ``settings`` that chooses
    ``chosen``: the first problem found, or None."""
    for backend in BACKENDS.values():
        problem = backend.refuse(settings, chosen)
        if problem is not None:
            return problem
    return None
