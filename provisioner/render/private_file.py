"""Writing a file the user names (``plan -o FILE``) without harming what is there.

``-o`` is typed by hand and pasted into pipelines; a slip must not cost the
stack file or the state database. So the file is written

- only over nothing, or over a file of the same sort (``replaceable`` says
  which: a plan file over a plan file); a directory, a device, a FIFO or any
  other file is refused before anything is written;
- never through a symbolic link: the link itself is refused (writing through
  it would change whatever it points to);
- to a temporary file of the same directory, created 0600 whatever the umask,
  then renamed over the name: a reader sees the old file or the new one, never
  half of one, and the mode is 0600 even where an old file had 0644.

Errors are UsageError naming the path and the reason, never a traceback.
"""

from __future__ import annotations

import os
import stat
import tempfile
from collections.abc import Callable
from pathlib import Path

from provisioner.core.file_access import kind_of
from provisioner.errors import UsageError


def check_writable(path: Path, replaceable: Callable[[Path], bool], what: str) -> None:
    """Raise UsageError if ``path`` may not be written as ``what`` (see above); run it
    before the work whose result is written, so a refusal costs nothing."""
    flag = f"-o {path}"
    parent = path.parent
    if not parent.is_dir():
        raise UsageError(f"{flag}: the directory {parent} does not exist",
                         hint="create it first, or name a file in an existing directory")
    try:
        mode = path.lstat().st_mode
    except FileNotFoundError:
        return
    except OSError as exc:
        raise UsageError(f"{flag}: {exc.strerror or exc}") from None
    if stat.S_ISLNK(mode):
        raise UsageError(f"{flag} is a symbolic link; provisioner does not write through one",
                         hint=f"name the {what} itself, or another file")
    if not stat.S_ISREG(mode):
        raise UsageError(f"{flag} is {kind_of(mode)}, not a file to write a {what} to",
                         hint=f"name a new file, or an existing {what}")
    if not replaceable(path):
        raise UsageError(f"{flag}: the file exists and is not a {what}; it is left as it is",
                         hint=f"name a new file, or an existing {what} to replace")


def write_private(path: Path, text: str, replaceable: Callable[[Path], bool],
                  what: str) -> None:
    """Write ``text`` to ``path`` (checked again, see ``check_writable``), 0600."""
    check_writable(path, replaceable, what)
    try:
        descriptor, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.",
                                                 suffix=".tmp")
    except OSError as exc:
        raise UsageError(f"cannot write the {what} to {path}: {exc.strerror or exc}",
                         hint="name a file in a directory you can write to") from None
    try:
        with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, path)  # replaces a link swapped in meanwhile, not its target
    except OSError as exc:
        Path(temporary).unlink(missing_ok=True)
        raise UsageError(f"cannot write the {what} to {path}: {exc.strerror or exc}",
                         hint="nothing was written; free some space or name another file"
                         ) from None
