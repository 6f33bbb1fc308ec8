"""Which state store a command uses: the stack's ``state:`` block, or the flags
(``--state PATH`` for a local file, ``--state-backend NAME``). The backends
themselves are registered in backends.py."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from provisioner.state.backends import StoreRequest, get_backend
from provisioner.state.store import StateStore

if TYPE_CHECKING:
    from provisioner.stack.loader import Stack


def open_store(stack: Stack, path: Path | None = None, backend: str | None = None) -> StateStore:
    """The store for ``stack``; ``path`` and ``backend`` are the command-line overrides.
    Raises UsageError for an unknown backend or missing settings."""
    chosen = backend or ("local" if path is not None else stack.state.backend)
    request = StoreRequest(stack.identity, stack.root, stack.state, path,
                           by_flag=backend is not None, environment=stack.environment)
    return get_backend(chosen).open(request)
