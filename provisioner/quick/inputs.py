"""What a run reads from this machine, recorded while it runs (Python audit hooks,
and ``os.stat`` and ``os.environ`` wrapped): the files it opens to read, the
directories it lists, the paths it looks at, the SQLite databases it opens (its
state, other stacks' states), and the environment variables it reads (by name; a
run that goes through them all counts all of them). Each is digested when it is
first read, so a file that changes while the run reads it is caught by comparing
with its digest at the end.

A run that reaches further (a subprocess, a socket, a file it writes other than
a lock) is marked ``refused``: what it read there cannot be checked again without
doing it again, so no receipt is written for it.

The interpreter's and provisioner's own files (and any ``.py``/``.pyc``/``.so``) are
not inputs: the receipt's key covers the code (``receipt.code_digest``).
"""

from __future__ import annotations

import _thread
import hashlib
import os
import stat as stat_mode
import sys
from collections.abc import Callable
from typing import Any

REFUSING = frozenset({
    "socket.connect", "socket.sendto", "socket.sendmsg", "subprocess.Popen", "os.system",
    "os.exec", "os.posix_spawn", "os.spawn", "os.fork", "os.forkpty", "pty.spawn",
    "urllib.Request",
})
"""Events after which a run's inputs are not all on this machine's disk."""
_WRITES = os.O_WRONLY | os.O_RDWR | os.O_CREAT | os.O_TRUNC | os.O_APPEND
_CODE = (".py", ".pyc", ".so", ".pth")
MISSING = "missing"
WHOLE = 1 << 20
"""Files up to this size are digested whole."""


def file_digest(path: str) -> str:
    """The file's content; for a file over ``WHOLE`` bytes (a disk image), its size,
    modification time and inode, which every write changes."""
    try:
        with open(path, "rb") as handle:
            found = os.fstat(handle.fileno())
            if found.st_size > WHOLE:
                return f"large {found.st_size} {found.st_mtime_ns} {found.st_ino}"
            return hashlib.sha256(handle.read()).hexdigest()
    except IsADirectoryError:
        return "directory"
    except OSError:
        return MISSING


def listing_digest(path: str) -> str:
    try:
        return hashlib.sha256("\0".join(sorted(os.listdir(path))).encode()).hexdigest()
    except OSError:
        return MISSING


def stat_digest(path: str) -> str:
    """The kind and, for a file, the size of what ``path`` names (and of the link
    itself): not its times, which a state file's every run touches."""
    parts = []
    for follow in (False, True):
        try:
            found = _ORIGINAL["stat"](path, follow_symlinks=follow)
        except (OSError, ValueError):
            parts.append(MISSING)
            continue
        kind = stat_mode.S_IFMT(found.st_mode)
        parts.append(f"{kind}:{found.st_size if stat_mode.S_ISREG(found.st_mode) else 0}")
    return "/".join(parts)


def environment_digest(name: str) -> str:
    """One environment variable's value (``*``: the whole environment, for a run
    that went through all of it)."""
    get = _ORIGINAL_ENVIRON["__getitem__"]
    if name == EVERY_VARIABLE:
        whole = "\0".join(f"{key}={get(os.environ, key)}"
                          for key in sorted(_ORIGINAL_ENVIRON["__iter__"](os.environ)))
        return hashlib.sha256(whole.encode(errors="surrogateescape")).hexdigest()
    try:
        value = get(os.environ, name)
    except KeyError:
        return MISSING
    return hashlib.sha256(str(value).encode(errors="surrogateescape")).hexdigest()


def database_digest(path: str) -> str:
    """A SQLite file with its write-ahead log (a state is in WAL mode)."""
    return f"{file_digest(path)}+{file_digest(path + '-wal')}"


DIGESTS: dict[str, Callable[[str], str]] = {
    "files": file_digest, "listings": listing_digest, "stats": stat_digest,
    "databases": database_digest, "environment": environment_digest}
"""Each kind of input, and how its digest is taken."""

_ORIGINAL: dict[str, Any] = {"stat": os.stat, "lstat": os.lstat}
EVERY_VARIABLE = "*"
_ENVIRON = type(os.environ)
_ORIGINAL_ENVIRON: dict[str, Any] = {"__getitem__": _ENVIRON.__getitem__,
                                     "__iter__": _ENVIRON.__iter__}


def current(recorded: dict[str, list[str]]) -> dict[str, dict[str, str]]:
    """The digests now of the inputs ``recorded`` names (kind → paths)."""
    return {kind: {path: DIGESTS[kind](path) for path in paths}
            for kind, paths in recorded.items() if kind in DIGESTS}


class Recorder:
    """The inputs of the run between ``start`` and ``stop`` (one at a time)."""

    def __init__(self) -> None:
        self.inputs: dict[str, dict[str, str]] = {kind: {} for kind in DIGESTS}
        self.refused: str | None = None
        self._busy: set[int] = set()
        self._skip = tuple({sys.prefix, sys.base_prefix, sys.exec_prefix,
                            sys.base_exec_prefix,
                            os.path.dirname(os.path.dirname(os.path.abspath(__file__)))})

    def start(self) -> None:
        global _active
        if not _hooked:
            _install()
        _active = self
        os.stat = _recording_stat
        os.lstat = _recording_lstat
        _ENVIRON.__getitem__ = _recording_getitem  # type: ignore[method-assign]
        _ENVIRON.__iter__ = _recording_iter  # type: ignore[method-assign]

    def stop(self) -> None:
        global _active
        _active = None
        os.stat = _ORIGINAL["stat"]
        os.lstat = _ORIGINAL["lstat"]
        _ENVIRON.__getitem__ = _ORIGINAL_ENVIRON["__getitem__"]  # type: ignore[method-assign]
        _ENVIRON.__iter__ = _ORIGINAL_ENVIRON["__iter__"]  # type: ignore[method-assign]

    def event(self, event: str, args: tuple[Any, ...]) -> None:
        if event in REFUSING:
            self._refuse(event)
        elif event == "open":
            self._opened(*args[:3])
        elif event in ("os.listdir", "os.scandir"):
            self.saw("listings", args[0] if args and args[0] is not None else ".")
        elif event == "sqlite3.connect" and args:
            self.saw("databases", args[0])

    def _opened(self, path: Any, mode: str | None, flags: int) -> None:
        if isinstance(path, int) or path is None:
            return  # a descriptor already open
        writes = any(c in mode for c in "wax+") if mode else bool(flags & _WRITES)
        if not writes:
            self.saw("files", path)
        elif (named := self._path(path)) is not None and not named.endswith(".lock"):
            self._refuse(f"wrote {named}")

    def _refuse(self, why: str) -> None:
        """No receipt for this run: nothing more to record."""
        self.refused = self.refused or why
        self.stop()

    def saw(self, kind: str, path: Any) -> None:
        thread = _thread.get_ident()
        if thread in self._busy:
            return  # the digest's own reads
        self._busy.add(thread)
        try:
            named = self._path(path)
            if named is not None and named not in self.inputs[kind]:
                self.inputs[kind][named] = DIGESTS[kind](named)
        finally:
            self._busy.discard(thread)

    def read_variable(self, name: str) -> None:
        """An environment variable the run read (``*``: all of them). Its value is
        the process's own for the whole run: no second digest at the end."""
        if name not in self.inputs["environment"]:
            self.inputs["environment"][name] = environment_digest(name)

    def _path(self, path: Any) -> str | None:
        try:
            named = os.path.abspath(os.fsdecode(os.fspath(path)))
        except (TypeError, ValueError):
            return None
        if named.startswith(self._skip) or named.endswith(_CODE) or named == ":memory:":
            return None
        return named


_active: Recorder | None = None
_hooked = False


def _hook(event: str, args: tuple[Any, ...]) -> None:
    recorder = _active
    if recorder is not None:
        recorder.event(event, args)


def _install() -> None:
    global _hooked
    sys.addaudithook(_hook)
    _hooked = True


def _recording_getitem(environ: Any, name: str) -> str:
    recorder = _active
    if recorder is not None and isinstance(name, str):
        recorder.read_variable(name)
    return _ORIGINAL_ENVIRON["__getitem__"](environ, name)  # type: ignore[no-any-return]


def _recording_iter(environ: Any) -> Any:
    recorder = _active
    if recorder is not None:
        recorder.read_variable(EVERY_VARIABLE)
    return _ORIGINAL_ENVIRON["__iter__"](environ)


def _recording_stat(path: Any, *, dir_fd: int | None = None,
                    follow_symlinks: bool = True) -> os.stat_result:
    recorder = _active
    if recorder is not None and dir_fd is None and not isinstance(path, int):
        recorder.saw("stats", path)
    return _ORIGINAL["stat"](path, dir_fd=dir_fd,  # type: ignore[no-any-return]
                             follow_symlinks=follow_symlinks)


def _recording_lstat(path: Any, *, dir_fd: int | None = None) -> os.stat_result:
    recorder = _active
    if recorder is not None and dir_fd is None:
        recorder.saw("stats", path)
    return _ORIGINAL["lstat"](path, dir_fd=dir_fd)  # type: ignore[no-any-return]
