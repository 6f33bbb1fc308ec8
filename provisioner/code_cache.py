"""The compiled methods of dataclasses, kept between runs.

Python compiles the source of each dataclass's ``__init__``, ``__repr__``,
``__eq__``, ``__hash__`` and, when frozen, ``__setattr__`` and ``__delattr__``
every time the class is made: a plan makes about 170 dataclasses (provisioner's,
pydantic's, annotated_types'), and compiling their methods is about 50 ms of
each run on Python 3.11 (issue 19). ``install`` gives the ``dataclasses`` module
an ``exec`` that compiles each source text once and keeps the code in a file of the
user's cache, as Python keeps modules' byte code in ``__pycache__``: the same text
always compiles to the same code, so a class is made exactly as before, only
without the compile. Only ``dataclasses`` is changed, and only the function it
looks up by name to run what it generated.

The file is read only if it belongs to the user and no one else may write to it
or its directory; it is named after the interpreter's exact version; it is
written (atomically, mode 0600) at exit when the run compiled something new, and
holds only what runs since the last reset used, at most ``MOST_ENTRIES``.
``PROVISIONER_CODE_CACHE=0`` turns it off.
"""

from __future__ import annotations

import atexit
import builtins
import contextlib
import marshal
import os
import stat
import sys
from types import CodeType
from typing import Any

SWITCH = "PROVISIONER_CODE_CACHE"
MOST_ENTRIES = 5000
"""Past this many texts kept (stale ones pile up across upgrades), the file is
written again with only the texts of the run that found it so full."""
MOST_BYTES = 16 * 1024 * 1024


class _Cache:
    """Source text → code: what the file held, and what this run compiled or used."""

    def __init__(self, path: str) -> None:
        self.path = path
        self.kept: dict[str, CodeType] = _read(path)
        self.used: dict[str, CodeType] = {}
        self.compiled = False

    def code(self, source: str) -> CodeType:
        code = self.kept.get(source)
        if code is None:
            code = compile(source, "<string>", "exec")
            self.kept[source] = code
            self.compiled = True
        self.used[source] = code
        return code

    def save(self) -> None:
        if not self.compiled:
            return
        entries = self.kept if len(self.kept) <= MOST_ENTRIES else self.used
        try:
            _write(self.path, marshal.dumps(entries))
        except (OSError, ValueError):
            return  # a cache: the next run compiles again


def install() -> None:
    """Give ``dataclasses`` the caching ``exec`` (see the module); call before the
    modules whose dataclasses it should cover are imported."""
    import dataclasses

    if os.environ.get(SWITCH) == "0" or "exec" in vars(dataclasses):
        return
    path = cache_path()
    if path is None:
        return
    cache = _Cache(path)

    def exec_compiled(source: Any, globals: Any = None, locals: Any = None, /) -> None:
        if type(source) is str:
            source = cache.code(source)
        builtins.exec(source, globals, locals)

    dataclasses.exec = exec_compiled  # type: ignore[attr-defined]
    atexit.register(cache.save)


def cache_path() -> str | None:
    """The file, in ``$XDG_CACHE_HOME/provisioner`` (``~/.cache`` by default), named
    after the interpreter's version; None when there is no private place for it (or
    no way to tell: Windows has no file owners by uid)."""
    if not hasattr(os, "getuid"):
        return None
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    if not os.path.isabs(base):
        return None
    directory = os.path.join(base, "provisioner")
    try:
        os.makedirs(directory, mode=0o700, exist_ok=True)
    except OSError:
        return None
    if not _private(directory):
        return None
    tag = sys.implementation.cache_tag or sys.implementation.name
    return os.path.join(directory, f"dataclass-code.{tag}-{sys.hexversion:x}.marshal")


def _private(path: str) -> bool:
    """Owned by this user, and writable by no one else."""
    try:
        found = os.stat(path)
    except OSError:
        return False
    return found.st_uid == os.getuid() and not found.st_mode & (stat.S_IWGRP | stat.S_IWOTH)


def _read(path: str) -> dict[str, CodeType]:
    if not _private(path):
        return {}
    try:
        with open(path, "rb") as handle:
            found = marshal.loads(handle.read(MOST_BYTES + 1))
    except (OSError, EOFError, ValueError, TypeError):
        return {}
    if not isinstance(found, dict) or not all(
            type(key) is str and type(value) is CodeType for key, value in found.items()):
        return {}
    return found


def _write(path: str, data: bytes) -> None:
    if len(data) > MOST_BYTES:
        return
    temporary = f"{path}.{os.getpid()}.tmp"
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        with os.fdopen(descriptor, "wb") as handle:
            handle.write(data)
        os.replace(temporary, path)
    except OSError:
        with contextlib.suppress(OSError):
            os.unlink(temporary)
        raise

