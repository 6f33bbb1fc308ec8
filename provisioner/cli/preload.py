"""Import pydantic without asyncio, and without its plugin loader when plugins are
off: about 30 ms of every command (issue 19).

typing_extensions' ``@deprecated`` (before Python 3.13's ``warnings.deprecated``)
imports ``asyncio.coroutines`` each time it wraps a function, only to ask whether
the function is a coroutine function; pydantic and pydantic-core wrap some of theirs
at import, and ``import asyncio.coroutines`` loads all of asyncio, ssl and socket. No
command needs asyncio, so while pydantic and typer's pydantic adapters are imported,
``asyncio.coroutines`` is a stand-in answering with ``inspect``, and it is gone
from ``sys.modules`` afterwards: a later ``import asyncio`` gets the real one. Nothing
in those packages keeps a reference to it (they never import asyncio themselves).

pydantic's plugin loader (``pydantic.plugin._loader``), imported when the first
validator is built, imports ``importlib.metadata`` (and with it email, zipfile and
socket: about 10 ms) at its top, though its ``get_plugins`` returns nothing when
``PYDANTIC_DISABLE_PLUGINS`` says plugins are off, as the console script sets it
unless the user set it. Then a stand-in whose ``get_plugins`` returns nothing is
the loader (pydantic imports ``get_plugins`` alone from it, when it needs it).
"""

from __future__ import annotations

import inspect
import os
import sys
import types
from collections.abc import Iterator
from contextlib import contextmanager

_MODULES = ("pydantic_core.core_schema", "pydantic.main", "pydantic.fields",
            "pydantic.type_adapter", "pydantic.functional_validators")
"""What every command that reads a stack imports; each is imported for real, only
the stand-in changes."""
_TYPER_MODULES = ("typer._adapters",)
"""What typer adds, when it parses the flags (through pydantic)."""


PLUGIN_LOADER = "pydantic.plugin._loader"
PLUGINS_OFF = ("__all__", "1", "true")
"""The values of ``PYDANTIC_DISABLE_PLUGINS`` for which pydantic loads no plugin."""


def import_pydantic(*, with_typer: bool) -> None:
    """Import pydantic, and typer's adapters ``with_typer``, now, without asyncio."""
    _no_plugin_loader()
    modules = _MODULES + (_TYPER_MODULES if with_typer else ())
    if "asyncio" in sys.modules or all(name in sys.modules for name in modules):
        return
    with _asyncio_stand_in():
        for name in modules:
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


def _no_plugin_loader() -> None:
    """With plugins off, pydantic's plugin loader is a stand-in (see the module)."""
    if os.environ.get("PYDANTIC_DISABLE_PLUGINS") not in PLUGINS_OFF:
        return
    if PLUGIN_LOADER not in sys.modules:
        loader = types.ModuleType(PLUGIN_LOADER)
        loader.get_plugins = lambda: ()  # type: ignore[attr-defined]
        sys.modules[PLUGIN_LOADER] = loader
