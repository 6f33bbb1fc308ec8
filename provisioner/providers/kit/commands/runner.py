"""The ``Runner`` interface, what a command returns, and how an argv is shown."""

from __future__ import annotations

import logging
from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass

from provisioner.errors import ProviderError
from provisioner.providers.base import CallKind, ProviderStats

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Secret:
    """An argument whose value must never be shown (a password, a token)."""

    value: str

    def __str__(self) -> str:
        return "***"


Arg = str | Secret


def plain(argv: Sequence[Arg]) -> list[str]:
    """The argv as the program receives it."""
    return [arg.value if isinstance(arg, Secret) else arg for arg in argv]


def shown(argv: Sequence[Arg]) -> str:
    """The argv as messages and logs show it: secrets as ``***``."""
    return " ".join(str(arg) for arg in argv)


@dataclass(frozen=True)
class Completed:
    """What one command did: its exit code and its output, decoded as UTF-8."""

    argv: tuple[str, ...]
    """The command as shown (secrets hidden)."""
    code: int
    stdout: str
    stderr: str

    @property
    def ok(self) -> bool:
        return self.code == 0


class Runner(ABC):
    """Runs commands on one machine (this one, or a host reached over SSH)."""

    def __init__(self, stats: ProviderStats, timeout: float) -> None:
        self.stats = stats
        self.timeout = timeout
        """Seconds one command may take by default."""

    @property
    @abstractmethod
    def where(self) -> str:
        """The machine, for messages: ``this machine`` or ``host HOST``."""

    def run(self, argv: Sequence[Arg], *, kind: CallKind, timeout: float | None = None,
            stdin: bytes | None = None) -> Completed:
        """Run ``argv`` (counted as ``kind``) and return how it ended, whatever its exit
        code. Raises ProviderError when the program cannot be started or runs past
        ``timeout`` seconds (it is then killed)."""
        with self.stats.track(kind):
            log.debug("run on %s: %s", self.where, shown(argv))
            return self._run(argv, timeout or self.timeout, stdin)

    @abstractmethod
    def _run(self, argv: Sequence[Arg], timeout: float, stdin: bytes | None) -> Completed:
        """Run one command; the counting and logging are ``run``'s."""

    @abstractmethod
    def write_file(self, path: str, data: bytes) -> None:
        """Write ``data`` to ``path`` on the machine (its folder is made); counted as a
        write. Raises ProviderError if it cannot."""

    def close(self) -> None:  # noqa: B027 - optional hook
        """Release what the runner holds. Never raises."""


def not_started(program: str, where: str, reason: str, hint: str) -> ProviderError:
    return ProviderError(f"cannot run {program} on {where}: {reason}", hint=hint)


def timed_out(argv: Sequence[Arg], where: str, timeout: float) -> ProviderError:
    return ProviderError(f"'{shown(argv)}' on {where} did not finish within {timeout:g} s "
                         "(stopped)", hint="raise the provider block's timeout, or look at "
                                           "what the program waits for")
