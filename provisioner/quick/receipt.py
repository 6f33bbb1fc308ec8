"""A receipt: what a plan that found nothing to change read, and what it printed.

One file per command line and directory, in the stack's state directory
(``.provisioner/quick``) for a plan or apply of a stack that has one, else in
``$XDG_CACHE_HOME/provisioner/quick`` (``~/.cache`` by default); mode 0600, written
whole or not at all. It holds:

- ``key``: one SHA-256 of the command line, the working directory, whether the
  outputs are terminals, the interpreter's own environment variables
  (``KEY_VARIABLES``), the interpreter, and provisioner's own code and installed
  packages (``code_digest``);
- ``inputs``: the paths the run read (files, directory listings, paths it
  looked at, SQLite states) and the names of the environment variables it read,
  and ``probes``: what each provider's quick read needs (a libvirt URI; never a
  secret);
- ``digest``: one SHA-256 of the key, the inputs' contents and the probes'
  readings. Only digests are kept: no content of any file, variable or host;
- ``confirmed``: the hosts read the same before and after the plan that wrote it
  (a receipt from one reading is not used; the next run confirms it);
- ``output`` and ``exit``: what the run printed, and its exit code.
"""

from __future__ import annotations

import contextlib
import hashlib
import marshal
import os
import sys

FORMAT = f"provisioner quick receipt 1, Python {sys.version}"
"""marshal's format is that of the interpreter that wrote it."""


KEY_PREFIXES = ("PYTHON", "LC_")
KEY_VARIABLES = frozenset({"LANG", "LANGUAGE", "TZ", "TERM", "COLUMNS", "LINES", "NO_COLOR",
                           "FORCE_COLOR"})
"""Environment variables read before the run's own code (by the interpreter, at
start-up: its paths, its locale and so its output's encoding) or by libraries in C:
part of the key. The variables the run reads itself are recorded as inputs."""


class Receipt:
    """One receipt (the fields are those of the module's text)."""

    def __init__(self, key: str, inputs: dict[str, list[str]],
                 probes: list[tuple[str, dict[str, str]]], digest: str, confirmed: bool,
                 output: list[tuple[str, str]], exit: int) -> None:
        self.key = key
        self.inputs = inputs
        self.probes = probes
        self.digest = digest
        self.confirmed = confirmed
        self.output = output
        self.exit = exit

    def as_dict(self) -> dict[str, object]:
        return dict(vars(self))


def directory() -> str:
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return os.path.join(base, "provisioner", "quick")


def location(argv: list[str], state_directory: str | None) -> str:
    """The receipt file of this command line run here: in the stack's state directory
    if it has one (a receipt lasts as long as the state it was made with, also on a
    CI runner that keeps only that), else in the user's cache."""
    name = hashlib.sha256("\0".join([sys.executable, os.getcwd(), *argv]).encode())
    base = os.path.join(state_directory, "quick") if state_directory and os.path.isdir(
        state_directory) else directory()
    return os.path.join(base, name.hexdigest()[:32] + ".receipt")


def run_key(argv: list[str]) -> str:
    hasher = hashlib.sha256()
    for part in (f"format {FORMAT}", sys.executable, os.getcwd(), *argv,
                 f"tty {os.isatty(1)} {os.isatty(2)}", code_digest()):
        hasher.update(part.encode(errors="surrogateescape") + b"\0")
    for name, value in sorted(os.environ.items()):
        if name.startswith(KEY_PREFIXES) or name in KEY_VARIABLES:
            hasher.update(f"{name}={value}".encode(errors="surrogateescape") + b"\0")
    return hasher.hexdigest()


def code_digest() -> str:
    """provisioner's code and the installed packages: the packages' names and versions
    (their ``.dist-info`` directories), and provisioner's ``RECORD`` (a digest of each
    of its files) when it is installed from a wheel, else its files' names, sizes and
    times (a source checkout). The same install on another machine has the same
    digest."""
    hasher = hashlib.sha256()
    package = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    record = None
    for entry in sys.path:
        if not entry.endswith(("site-packages", "dist-packages")):
            continue  # (the working directory is on it with ``python -m``)
        try:
            names = sorted(n for n in os.listdir(entry) if n.endswith(".dist-info"))
        except OSError:
            continue
        hasher.update(f"{entry}\0{'/'.join(names)}\0".encode())
        if os.path.dirname(package) == entry:
            record = next((os.path.join(entry, n, "RECORD") for n in names
                           if n.startswith("provisioner-")), None)
    if record is not None:
        with open(record, "rb") as handle:
            hasher.update(handle.read())
        return hasher.hexdigest()
    for root, dirs, files in os.walk(package):
        dirs[:] = sorted(d for d in dirs if d != "__pycache__")
        for name in sorted(files):
            if name.endswith(".py"):
                found = os.stat(os.path.join(root, name))
                hasher.update(f"{root}/{name} {found.st_size} {found.st_mtime_ns}\0".encode())
    return hasher.hexdigest()


def full_digest(key: str, contents: dict[str, dict[str, str]],
                readings: list[str]) -> str:
    hasher = hashlib.sha256(key.encode())
    for kind in sorted(contents):
        for path, digest in sorted(contents[kind].items()):
            hasher.update(f"{kind}\0{path}\0{digest}\0".encode(errors="surrogateescape"))
    for reading in readings:
        hasher.update(f"probe\0{reading}\0".encode())
    return hasher.hexdigest()


def load(path: str) -> Receipt | None:
    """The receipt at ``path``; None if there is none or it cannot be read."""
    try:
        with open(path, "rb") as handle:
            written, data = marshal.load(handle)
        if written != FORMAT:
            return None
        return Receipt(**data)
    except (OSError, EOFError, ValueError, TypeError):
        return None


def save(path: str, receipt: Receipt) -> None:
    """Write ``receipt`` whole (a temporary file renamed); never raises."""
    temporary = f"{path}.{os.getpid()}.tmp"
    try:
        os.makedirs(os.path.dirname(path), mode=0o700, exist_ok=True)
        descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(descriptor, "wb") as handle:
            marshal.dump((FORMAT, receipt.as_dict()), handle)
        os.replace(temporary, path)
    except (OSError, ValueError, TypeError):
        with contextlib.suppress(OSError):
            os.unlink(temporary)
