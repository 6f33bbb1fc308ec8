"""Import pydantic without asyncio: about 20 ms of every command (issue 19).

typing_extensions' ``@deprecated`` (before Python 3.13's ``warnings.deprecated``)
imports ``asyncio.coroutines`` each time it wraps a function, only to ask whether
the function is a coroutine function; pydantic and pydantic-core wrap some of theirs
at import, and ``import asyncio.coroutines`` loads all of asyncio, ssl and socket. No
command needs asyncio, so while pydantic and typer's pydantic adapters are imported,
``asyncio.coroutines`` is a stand-in answering with ``inspect``, and it is gone
from ``sys.modules`` afterwards: a later ``import asyncio`` gets the real one. Nothing
in those packages keeps a reference to it (they never import asyncio themselves).
"""

from __future__ import annotations

import inspect
import sys
import types
from collections.abc import Iterator
from contextlib import contextmanager

_MODULES = ("pydantic_core.core_schema", "pydantic.main", "pydantic.fields",
            "pydantic.type_adapter", "pydantic.functional_validators", "typer._adapters")
"""What every command that reads a stack or a flag imports (typer parses flags through
pydantic); each is imported for real, only the stand-in changes."""


def import_pydantic() -> None:
    """Import pydantic (and typer's adapters) now, without asyncio."""
    if "asyncio" in sys.modules or all(name in sys.modules for name in _MODULES):
        return
    with _asyncio_stand_in():
        for name in _MODULES:
            __import__(name)


@contextmanager
def _asyncio_stand_in() -> Iterator[None]:
    package = types.ModuleType("asyncio")
    coroutines = types.ModuleType("asyncio.coroutines")
    coroutines.iscoroutinefunction = inspect.iscoroutinefunction  # type: ignore[attr-defined]
    coroutines._is_coroutine = object()  # type: ignore[attr-defined]
    package.coroutines = coroutines  # type: ignore[attr-defined]
    sys.modules["asyncio"], sys.modules["asyncio.coroutines"] = package, coroutines
    try:
        yield
    finally:
        for name, stand_in in (("asyncio", package), ("asyncio.coroutines", coroutines)):
            if sys.modules.get(name) is stand_in:
                del sys.modules[name]
