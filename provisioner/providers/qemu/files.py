"""Where a guest lives: one directory per guest under the provider's ``dir``.

``DIR/STACK/PROVIDER/GUEST/`` holds everything of one guest, and nothing else
does: ``owner.json`` (the ownership marker, with the spec as applied),
``qemu.pid`` and the QMP socket of its running process, ``serial.log`` (its
console), ``diskN.qcow2`` (or ``.img``) and ``seed.iso``. Deleting a guest is
deleting its directory; listing guests is one scan of ``DIR/STACK/PROVIDER/*/``.
A guest's directory is first made as ``.GUEST.new`` holding its marker and
renamed into place, so it never exists without one; a create killed before the
rename leaves only ``.GUEST.new``, which the next plan deletes as a leftover.

A Unix socket path holds at most 107 bytes: a socket whose path in the guest's
directory would be longer lives in a private directory of the user's
(``$XDG_RUNTIME_DIR/provisioner-qemu``, else ``/tmp/provisioner-qemu-UID``),
named by a digest of the guest's directory.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
from dataclasses import dataclass
from pathlib import Path

from provisioner.errors import ProviderError

SOCKET_PATH_MAX = 100
"""Longest socket path used in place (sun_path is 108 bytes with its NUL)."""
MARKER_FILE = "owner.json"
CREATING_FILE = "creating.json"
"""The marker while the guest is being made: renamed to ``owner.json`` once it runs."""
STAGING_SUFFIX = ".new"
"""``.GUEST.new``: a guest's directory before it is renamed into place."""
DISK_SUFFIX = {"qcow2": ".qcow2", "raw": ".img"}


def default_root() -> Path:
    """``$XDG_DATA_HOME/provisioner/qemu``, by default ``~/.local/share/provisioner/qemu``."""
    data = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(data) / "provisioner" / "qemu"


def provider_root(configured: str | None, stack_directory: Path | None) -> Path:
    """The provider's ``dir:``, absolute: relative to the stack's directory."""
    if configured is None:
        return default_root()
    path = Path(configured).expanduser()
    if not path.is_absolute():
        path = (stack_directory or Path.cwd()) / path
    return path.absolute()


@dataclass(frozen=True)
class GuestFiles:
    """The files of one guest."""

    directory: Path
    process_name: str
    """What QEMU is told the guest is called (``-name guest=...``): unique on the host."""

    @classmethod
    def at(cls, directory: Path) -> GuestFiles:
        """The files of the guest whose directory is ``ROOT/STACK/PROVIDER/GUEST``."""
        stack, provider, name = directory.parts[-3:]
        return cls(directory, f"{stack}.{provider}.{name}")

    @property
    def marker(self) -> Path:
        return self.directory / MARKER_FILE

    @property
    def creating(self) -> Path:
        return self.directory / CREATING_FILE

    @property
    def pidfile(self) -> Path:
        return self.directory / "qemu.pid"

    @property
    def serial_log(self) -> Path:
        return self.directory / "serial.log"

    @property
    def seed(self) -> Path:
        return self.directory / "seed.iso"

    @property
    def socket(self) -> Path:
        """The QMP socket: in the directory when the path fits, else in a private
        runtime directory (see the module's docstring)."""
        in_place = self.directory / "qmp.sock"
        if len(str(in_place)) <= SOCKET_PATH_MAX:
            return in_place
        digest = hashlib.sha256(str(self.directory).encode()).hexdigest()[:24]
        return _runtime_dir() / f"{digest}.sock"

    def disk(self, index: int, fmt: str) -> Path:
        return self.directory / f"disk{index}{DISK_SUFFIX.get(fmt, '.' + fmt)}"


@dataclass(frozen=True)
class Tree:
    """One provider block's part of ``dir``: ``ROOT/STACK/PROVIDER/``."""

    root: Path
    stack: str
    provider: str

    @property
    def base(self) -> Path:
        return self.root / self.stack / self.provider

    def guest(self, name: str) -> GuestFiles:
        return GuestFiles.at(self.base / name)

    @property
    def networks(self) -> Path:
        """The networks' markers: ``.networks/NAME.json``."""
        return self.base / ".networks"

    @property
    def volumes(self) -> Path:
        """The volumes' images and markers (``volumes.py``)."""
        return self.base / ".volumes"

    @property
    def images(self) -> Path:
        """The imported images and their markers (``images.py``)."""
        return self.base / ".images"

    def network(self, name: str) -> Path:
        return self.networks / f"{name}.json"

    def prune(self) -> None:
        """Remove the networks', volumes', images', block's and stack's directories once
        empty."""
        for emptied in (self.networks, self.volumes, self.images, self.base,
                        self.base.parent):
            with contextlib.suppress(OSError):
                emptied.rmdir()

    def staging(self, name: str) -> Path:
        """Where a guest's directory is made, before it is renamed into place."""
        return self.base / f".{name}{STAGING_SUFFIX}"

    def guest_of(self, directory: Path) -> GuestFiles | None:
        """The guest a directory of this block holds (its own or its staging one)."""
        name = directory.name
        if name.startswith(".") and name.endswith(STAGING_SUFFIX):
            name = name[1:-len(STAGING_SUFFIX)]
        elif name.startswith("."):
            return None  # .networks, or anything else that is not a guest
        files = self.guest(name)
        return files if directory in (files.directory, self.staging(name)) else None

    def markers(self) -> list[Path]:
        """Every marker (``owner.json`` or ``creating.json``) of this block's guests,
        staged ones included."""
        if not self.base.is_dir():
            return []
        return sorted(path for path in self.base.glob("*/*.json")
                      if path.name in (MARKER_FILE, CREATING_FILE))


def every_marker(root: Path) -> list[Path]:
    """The ``owner.json`` of every guest under ``root``, of every stack and block."""
    return sorted(root.glob(f"*/*/*/{MARKER_FILE}")) if root.is_dir() else []


def _runtime_dir() -> Path:
    runtime = os.environ.get("XDG_RUNTIME_DIR")
    path = Path(runtime) / "provisioner-qemu" if runtime else \
        Path("/tmp") / f"provisioner-qemu-{os.getuid()}"
    path.mkdir(mode=0o700, parents=True, exist_ok=True)
    found = path.lstat()
    if found.st_uid != os.getuid() or found.st_mode & 0o077 or path.is_symlink():
        raise ProviderError(f"{path} is not a private directory of this user",
                            hint="remove it, or set XDG_RUNTIME_DIR, or give the provider a "
                                 "shorter `dir:` so sockets fit beside their guests")
    return path
