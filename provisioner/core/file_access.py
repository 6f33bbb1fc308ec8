"""Reading the files a stack or a flag names: where they may be, what, how big.

In a GitOps setup whoever opens a pull request writes the stack, and a runner
plans it with its own files around. So every file read because a stack or a
flag names it (stack files, ``--var-file``, ``cloud_init`` files, local
images) goes through here, and:

- it must resolve, after symlinks, inside one of the directories it may come
  from: the stack's directory (``--var-file`` also: the current directory), or
  one the user allows in ``PROVISIONER_ALLOW_PATHS`` (directories separated by
  ``:``). That is a setting of the runner, never of the stack: a stack cannot
  widen where it reads;
- it must be a regular file: a FIFO or a device is refused, and never opened in
  blocking mode (opening a FIFO for reading waits for a writer forever);
- it may hold at most ``limit`` bytes (``STACK_FILE_LIMIT``, ``CLOUD_INIT_LIMIT``):
  ``/dev/zero`` or a log file cannot fill the runner's memory;
- a refusal names the path, never the content.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import IO

from provisioner.errors import UserError

ALLOW_PATHS_VARIABLE = "PROVISIONER_ALLOW_PATHS"
STACK_FILE_LIMIT = 2 * 1024 * 1024
"""Stack files and var-files: a stack of a thousand guests is about 200 KiB of YAML."""
CLOUD_INIT_LIMIT = 1024 * 1024
"""cloud-init files: clouds cap user data far lower (EC2 16 KiB, Azure 64 KiB, GCE
256 KiB); a NoCloud seed has no cap, but a megabyte of it is a mistake or an attack."""
NO_LIMIT = -1
"""Images: a disk image is as big as it is; it is streamed, never held in memory."""


class FileRefused(UserError):
    """A file named by a stack or a flag is outside where it may be, not a regular file,
    or too big. The message names the path only."""


def allowed_directories(*directories: Path, environ: Mapping[str, str] | None = None
                        ) -> tuple[Path, ...]:
    """``directories`` and those of ``PROVISIONER_ALLOW_PATHS``, resolved."""
    listed = (environ if environ is not None else os.environ).get(ALLOW_PATHS_VARIABLE, "")
    extra = [Path(entry).expanduser() for entry in listed.split(os.pathsep) if entry.strip()]
    return tuple(dict.fromkeys(path.resolve() for path in (*directories, *extra)))


def confined(path: Path, directories: Sequence[Path], named_as: str) -> Path:
    """``path`` resolved (symlinks followed); FileRefused if that is in none of
    ``directories``."""
    resolved = path.resolve()
    if any(resolved.is_relative_to(directory) for directory in directories):
        return resolved
    shown = " or ".join(str(directory) for directory in directories)
    via = f" (it leads to {resolved})" if resolved != path.absolute() else ""
    raise FileRefused(
        f"{_by(named_as)}{path} is outside the directories provisioner may use files from{via}",
        hint=f"keep the file under {shown}, or allow its directory explicitly: "
             f"export {ALLOW_PATHS_VARIABLE}=DIR (directories separated by ':')")


def read_regular(path: Path, limit: int, named_as: str) -> bytes:
    """The bytes of ``path``, a regular file of at most ``limit`` bytes; FileRefused
    otherwise (a FIFO or a device is opened without blocking and not read)."""
    with open_regular(path, named_as) as handle:
        size = os.fstat(handle.fileno()).st_size
        if 0 <= limit < size:
            raise _too_big(path, limit, named_as)
        data = handle.read() if limit < 0 else handle.read(limit + 1)
    if 0 <= limit < len(data):  # it grew while being read
        raise _too_big(path, limit, named_as)
    return data


def open_regular(path: Path, named_as: str) -> IO[bytes]:
    """``path`` open for binary reading, after checking on the open file that it is a
    regular file (no race with a swap between a check and the open)."""
    try:
        descriptor = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
    except OSError as exc:
        reason = exc.strerror or str(exc)
        raise FileRefused(f"{named_as}: {reason}" if named_as else
                          f"cannot read {path}: {reason}", hint="check the path") from None
    try:
        mode = os.fstat(descriptor).st_mode
        if not stat.S_ISREG(mode):
            raise FileRefused(f"{_by(named_as)}{path} is {kind_of(mode)}, not a regular file",
                              hint="name a regular file")
        os.set_blocking(descriptor, True)
        return os.fdopen(descriptor, "rb")
    except BaseException:
        os.close(descriptor)
        raise


def read_named(value: str, base: Path, directories: Iterable[Path], limit: int,
               named_as: str) -> bytes:
    """The file ``value`` names (relative to ``base``), read under every rule above."""
    if "\0" in value:
        raise FileRefused(f"{_by(named_as)}a file name cannot hold a NUL byte",
                          hint="fix the path")
    path = confined(base / value, tuple(directories), named_as)
    return read_regular(path, limit, named_as)


def _too_big(path: Path, limit: int, named_as: str) -> FileRefused:
    return FileRefused(f"{_by(named_as)}{path} is larger than {_size(limit)}, the most "
                       "provisioner reads for it", hint="name a smaller file")


def _by(named_as: str) -> str:
    return f"{named_as}: " if named_as else ""


def _size(count: int) -> str:
    return f"{count // (1024 * 1024)} MiB" if count >= 1024 * 1024 else f"{count} bytes"


def kind_of(mode: int) -> str:
    """What a file of this mode is, in words: "a FIFO", "a directory", ..."""
    kinds = ((stat.S_ISDIR, "a directory"), (stat.S_ISFIFO, "a FIFO"),
             (stat.S_ISCHR, "a character device"), (stat.S_ISBLK, "a block device"),
             (stat.S_ISSOCK, "a socket"))
    return next((name for check, name in kinds if check(mode)), "not a regular file")
