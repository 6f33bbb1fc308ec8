"""Commands on this machine: ``subprocess`` with an argv list, never a shell."""

from __future__ import annotations

import subprocess
from collections.abc import Sequence
from pathlib import Path

from provisioner.errors import ProviderError
from provisioner.providers.base import CallKind
from provisioner.providers.kit.commands.runner import (
    Arg,
    Completed,
    Runner,
    not_started,
    plain,
    timed_out,
)


class LocalRunner(Runner):
    """Runs commands here."""

    @property
    def where(self) -> str:
        return "this machine"

    def _run(self, argv: Sequence[Arg], timeout: float, stdin: bytes | None) -> Completed:
        try:
            done = subprocess.run(plain(argv), input=stdin, capture_output=True,
                                  timeout=timeout, check=False)
        except FileNotFoundError:
            raise not_started(str(argv[0]), self.where, "no such program",
                              "install it, put it on the PATH, or give its full path in the "
                              "provider block") from None
        except PermissionError as exc:
            raise not_started(str(argv[0]), self.where, str(exc.strerror),
                              "make it executable") from None
        except subprocess.TimeoutExpired:
            raise timed_out(argv, self.where, timeout) from None
        return Completed(tuple(str(arg) for arg in argv), done.returncode,
                         done.stdout.decode("utf-8", "replace"),
                         done.stderr.decode("utf-8", "replace"))

    def write_file(self, path: str, data: bytes) -> None:
        with self.stats.track(CallKind.WRITE):
            target = Path(path)
            try:
                target.parent.mkdir(parents=True, exist_ok=True)
                target.write_bytes(data)
            except OSError as exc:
                raise ProviderError(f"cannot write {path}: {exc.strerror}") from exc
