"""The prlctl seam: every call the provider makes to Parallels Desktop goes through here.

``Prlctl.run("set", name, "--cpus", "2", what=...)`` runs ``prlctl`` through the
block's runner (this Mac, or ``host:`` over SSH), counted as the caller says
(``list`` for the bulk read, ``read`` for one VM's, ``write`` for changes), and
returns its stdout; ``Prlctl.srv`` runs ``prlsrvctl`` the same way. A failure is
translated once, here, from prlctl's own words (``Failed to configure the VM:
...``): "The virtual machine could not be found" is ObjectNotFoundError (a
delete treats it as done), a VM busy with another operation is retried with
backoff for ``retry_timeout`` seconds, anything else is a ProviderError naming
the guest and the command.
"""

from __future__ import annotations

from typing import Any

from provisioner.errors import ObjectNotFoundError, ProviderError, TransientProviderError
from provisioner.providers.base import CallKind, ProviderStats
from provisioner.providers.kit.commands import Completed, Runner
from provisioner.providers.kit.commands.checked import run_checked
from provisioner.providers.kit.commands.local import LocalRunner
from provisioner.providers.kit.commands.ssh import SshRunner
from provisioner.providers.kit.retry import RetryPolicy
from provisioner.providers.parallels import ParallelsConfig
from provisioner.providers.parallels.listing import json_in

RETRY = RetryPolicy(start=0.2, max=3.0, jitter=0.2)
NOT_FOUND = ("The virtual machine could not be found",)
BUSY = ("the virtual machine is busy", "another operation is in progress")
RUNNING = ("is currently running", "is already running")


def runner_for(settings: ParallelsConfig, stats: ProviderStats) -> Runner:
    if settings.host:
        return SshRunner(stats, settings.timeout, settings.host)
    return LocalRunner(stats, settings.timeout)


def message_of(done: Completed) -> str:
    """prlctl's own error lines (it prints the action first: ``Stopping the VM...``)."""
    lines = [line.strip() for line in done.stderr.splitlines() if line.strip()]
    return "; ".join(lines) or done.stdout.strip() or f"exit {done.code}"


def fault(done: Completed, what: str) -> ProviderError:
    message = message_of(done)
    program = done.argv[0].rsplit("/", 1)[-1]
    command = done.argv[1] if len(done.argv) > 1 else ""
    text = f"{what}: {program} {command}: {message}" if what else \
        f"{program} {command}: {message}"
    if any(marker in message for marker in NOT_FOUND):
        return ObjectNotFoundError(text)
    if any(marker in message for marker in BUSY) and \
            not any(marker in message for marker in RUNNING):
        return TransientProviderError(text, hint="another operation holds the VM; try again")
    return ProviderError(text)


class Prlctl:
    """Runs prlctl and prlsrvctl for one provider block."""

    def __init__(self, settings: ParallelsConfig, stats: ProviderStats,
                 runner: Runner | None = None) -> None:
        self.settings = settings
        self.runner = runner or runner_for(settings, stats)

    def run(self, *args: str, what: str = "", kind: CallKind = CallKind.WRITE,
            retry: bool = True, timeout: float | None = None, program: str = "") -> str:
        """stdout of ``prlctl ARGS``; raises the translated error (see module)."""
        return run_checked(self.runner, [program or self.settings.prlctl, *args], kind=kind,
                           fault=lambda done: fault(done, what), timeout=timeout,
                           retry=RETRY.within(self.settings.retry_timeout) if retry else None)

    def read(self, *args: str, what: str = "") -> str:
        return self.run(*args, what=what, kind=CallKind.READ)

    def json(self, *args: str, kind: CallKind = CallKind.LIST, what: str = "",
             program: str = "") -> Any:
        """The JSON document a ``--json`` command prints (text around it skipped)."""
        text = self.run(*args, what=what, kind=kind, program=program)
        try:
            return json_in(text or "null")
        except ValueError:
            raise ProviderError(f"{what or 'prlctl'}: {args[0]} printed no JSON "
                                f"({text.strip()[:80]!r})") from None

    def srv(self, *args: str) -> Any:
        """``prlsrvctl ARGS --json``, counted as a list."""
        return self.json(*args, "--json", program=self.settings.prlsrvctl)

    def host_command(self, *argv: str, kind: CallKind = CallKind.READ) -> Completed:
        """Another program on the Mac (``df``, ``sysctl``; ``rmdir`` counted as a write);
        how it ended, whatever its exit code."""
        return self.runner.run(list(argv), kind=kind)

    def write_file(self, path: str, data: bytes) -> None:
        self.runner.write_file(path, data)

    def close(self) -> None:
        self.runner.close()
