"""Reading another stack's recorded outputs, for ``${stack.NAME.outputs.X}``.

The other stack's state is in the same backend as the loading stack's:

- postgres: the same database, rows keyed by the other stack's identity;
- local: the other stack's SQLite file, ``IDENTITY.db``, looked for beside the
  loading stack's state file (``--state``, ``state.path`` or ``.provisioner/``),
  then in ``.provisioner/`` of the directories beside the stack's directory
  (the ``stacks/core``, ``stacks/app`` layout). Several found there is an
  error naming them: the reference would be ambiguous.

Only reads: a missing file is "no state", never created.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from provisioner.errors import UsageError
from provisioner.state.backends import STATE_DIRECTORY, StoreRequest, get_backend

if TYPE_CHECKING:
    from provisioner.stack.model import StateConfig
    from provisioner.stack.other_stacks import OutputsReader, OutputsSource
    from provisioner.state.store import StateStore


def outputs_source(root: Path, path: Path | None = None,
                   backend: str | None = None) -> OutputsSource:
    """How a stack in directory ``root`` reads other stacks' outputs; ``path`` and
    ``backend`` are the command line's ``--state`` and ``--state-backend``."""

    def reader(settings: StateConfig) -> OutputsReader:
        chosen = backend or ("local" if path is not None else settings.backend)

        def read(identity: str) -> Mapping[str, Any] | None:
            store = _open(identity, chosen, root, settings, path, by_flag=backend is not None)
            if store is None:
                return None
            with store:
                outputs = store.outputs()
                return outputs if outputs or store.applied() else None

        return read

    return reader


def _open(identity: str, chosen: str, root: Path, settings: StateConfig, path: Path | None,
          *, by_flag: bool) -> StateStore | None:
    if chosen != "local":
        return get_backend(chosen).open(StoreRequest(identity, root, settings, by_flag=by_flag))
    from provisioner.state.local import SQLiteStore

    found = local_state_of(identity, root, settings, path)
    return None if found is None else SQLiteStore(found)


def local_state_of(identity: str, root: Path, settings: StateConfig,
                   path: Path | None = None) -> Path | None:
    """The SQLite file of stack ``identity`` as the module docstring says, or None."""
    if path is not None:
        beside = path.parent
    elif settings.path:
        given = Path(settings.path)
        beside = (given if given.is_absolute() else root / given).parent
    else:
        beside = root / STATE_DIRECTORY
    name = f"{identity}.db"
    if (beside / name).is_file():
        return beside / name
    try:
        siblings = sorted(d for d in root.parent.iterdir() if d.is_dir() and d != root)
    except OSError:
        return None
    found = [d / STATE_DIRECTORY / name for d in siblings if (d / STATE_DIRECTORY / name).is_file()]
    if len(found) > 1:
        raise UsageError(f"stack {identity}: several state files: "
                         + ", ".join(str(p) for p in found),
                         hint="keep one, or use the postgres state backend for stacks that "
                              "read each other's outputs")
    return found[0] if found else None
