"""The VBoxManage seam: every call the provider makes to VirtualBox goes through here.

``VBoxManage.run("modifyvm", name, "--cpus=2", what=...)`` runs the program
(``-q``: no logo) through the block's runner (this machine, or ``host:`` over
SSH), counted as the caller says (``list`` for the bulk reads, ``read`` for one
VM's, ``write`` for changes), and returns its stdout. A failure is translated
once, here, from VBoxManage's own ``VBoxManage: error: ...`` lines, which the
error carries: "Could not find a registered machine" is ObjectNotFoundError (a
delete treats it as done), a VM "already locked for a session" is retried with
backoff for ``retry_timeout`` seconds (another VBoxManage or the GUI holds it a
moment), anything else is a ProviderError naming the guest and the command.
"""

from __future__ import annotations

from provisioner.errors import ObjectNotFoundError, ProviderError, TransientProviderError
from provisioner.providers.base import CallKind, ProviderStats
from provisioner.providers.kit.commands import Completed, Runner
from provisioner.providers.kit.commands.checked import run_checked
from provisioner.providers.kit.commands.local import LocalRunner
from provisioner.providers.kit.commands.ssh import SshRunner
from provisioner.providers.kit.retry import RetryPolicy
from provisioner.providers.virtualbox import VirtualBoxConfig

RETRY = RetryPolicy(start=0.2, max=3.0, jitter=0.2)
ERROR_PREFIX = "VBoxManage: error: "
NOT_FOUND = ("Could not find a registered machine", "Could not find file for the medium",
             "Could not find an open hard disk", "Could not find a registered medium")
LOCKED = ("is already locked for a session", "is being unlocked")


def runner_for(settings: VirtualBoxConfig, stats: ProviderStats) -> Runner:
    if settings.host:
        return SshRunner(stats, settings.timeout, settings.host)
    return LocalRunner(stats, settings.timeout)


def message_of(done: Completed) -> str:
    """VBoxManage's own error lines (without the ``Details``/``Context`` noise)."""
    lines = [line[len(ERROR_PREFIX):].strip() for line in done.stderr.splitlines()
             if line.startswith(ERROR_PREFIX)]
    lines = [line for line in lines if not line.startswith(("Details: code", "Context: "))]
    return "; ".join(lines) or done.stderr.strip() or done.stdout.strip() or f"exit {done.code}"


def fault(done: Completed, what: str) -> ProviderError:
    message = message_of(done)
    command = done.argv[2] if len(done.argv) > 2 else done.argv[0]
    text = f"{what}: VBoxManage {command}: {message}" if what else \
        f"VBoxManage {command}: {message}"
    if any(marker in message for marker in NOT_FOUND):
        return ObjectNotFoundError(text)
    if any(marker in message for marker in LOCKED):
        return TransientProviderError(text, hint="another VBoxManage or the VirtualBox "
                                                 "Manager holds the VM; try again")
    return ProviderError(text)


class VBoxManage:
    """Runs VBoxManage for one provider block."""

    def __init__(self, settings: VirtualBoxConfig, stats: ProviderStats,
                 runner: Runner | None = None) -> None:
        self.settings = settings
        self.runner = runner or runner_for(settings, stats)

    def run(self, *args: str, what: str = "", kind: CallKind = CallKind.WRITE,
            retry: bool = True, timeout: float | None = None) -> str:
        """stdout of ``VBoxManage -q ARGS``; raises the translated error (see module)."""
        return run_checked(self.runner, [self.settings.vboxmanage, "-q", *args], kind=kind,
                           fault=lambda done: fault(done, what), timeout=timeout,
                           retry=RETRY.within(self.settings.retry_timeout) if retry else None)

    def read(self, *args: str, what: str = "") -> str:
        return self.run(*args, what=what, kind=CallKind.READ)

    def list(self, *args: str) -> str:
        return self.run("list", *args, kind=CallKind.LIST)

    def host_command(self, *argv: str) -> Completed:
        """Another program on the VirtualBox host (``df``), counted as a read."""
        return self.runner.run(list(argv), kind=CallKind.READ)

    def write_file(self, path: str, data: bytes) -> None:
        self.runner.write_file(path, data)

    def close(self) -> None:
        self.runner.close()
