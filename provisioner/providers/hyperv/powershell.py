"""The PowerShell seam: every script the provider runs on Hyper-V goes through here.

Locally the script goes to ``powershell.exe`` (or ``pwsh``) on stdin; the command
line is a fixed bootstrap that reads the whole of stdin and runs it as one script
block, because ``-Command -`` alone runs stdin line by line and goes on after a
failing line. With ``host:`` the script runs over WinRM (``psrp.py``). Every call
is counted as the caller says (``list`` for the bulk read, ``read`` for one VM's,
``write`` for changes).

A failure is translated once, here, from PowerShell's error record on stderr:
``Cmdlet : message`` (Windows PowerShell) or ``Cmdlet: message`` (PowerShell 7),
up to the ``At line:`` position lines, which are dropped. "Hyper-V was unable to
find a virtual machine" is ObjectNotFoundError (a delete treats it as done);
anything else is a ProviderError naming the guest and carrying the cmdlet's
message. Scripts are never shown in errors (they are long; values in them were
quoted, not hidden, and cloud-init data never goes into one).
"""

from __future__ import annotations

import re

from provisioner.errors import ObjectNotFoundError, ProviderError
from provisioner.providers.base import CallKind, ProviderStats
from provisioner.providers.hyperv import HyperVConfig
from provisioner.providers.hyperv.script import Script
from provisioner.providers.kit.commands import Completed, Runner
from provisioner.providers.kit.commands.local import LocalRunner

BOOTSTRAP = ("[Console]::InputEncoding = [Text.UTF8Encoding]::new($false); "
             "[Console]::OutputEncoding = [Text.UTF8Encoding]::new($false); "
             "& ([scriptblock]::Create([Console]::In.ReadToEnd()))")
NOT_FOUND = ("Hyper-V was unable to find a virtual machine", "Cannot find path")
_RECORD = re.compile(r"^(?:[\w.-]+\\)?(?P<cmdlet>[A-Z][A-Za-z]*-[A-Za-z]+)\s?: (?P<text>.*)$")
_POSITION = ("At line:", "At ", "+ ", "    + ", "Line |")


def runner_for(settings: HyperVConfig, stats: ProviderStats) -> Runner:
    if settings.host:
        from provisioner.providers.hyperv.psrp import PsrpRunner

        return PsrpRunner(stats, settings)
    return LocalRunner(stats, settings.timeout)


def message_of(done: Completed) -> str:
    """``Cmdlet: message`` from PowerShell's error record (without its position lines)."""
    kept: list[str] = []
    for line in done.stderr.strip().splitlines():
        if line.startswith(_POSITION):
            break
        if line.strip():
            kept.append(line.strip())
    if not kept:
        return done.stdout.strip()[-500:] or f"exit {done.code}"
    found = _RECORD.match(kept[0])
    if found:
        kept[0] = f"{found.group('cmdlet')}: {found.group('text')}"
    return " ".join(kept)


def fault(done: Completed, what: str) -> ProviderError:
    message = message_of(done)
    text = f"{what}: {message}" if what else message
    if any(marker in message for marker in NOT_FOUND):
        return ObjectNotFoundError(text)
    return ProviderError(text)


class PowerShell:
    """Runs scripts for one provider block."""

    def __init__(self, settings: HyperVConfig, stats: ProviderStats,
                 runner: Runner | None = None) -> None:
        self.settings = settings
        self.runner = runner or runner_for(settings, stats)

    def run(self, script: Script | str, *, what: str = "", kind: CallKind = CallKind.WRITE,
            timeout: float | None = None) -> str:
        """stdout of the script; raises the translated error (see the module)."""
        text = script.text() if isinstance(script, Script) else script
        argv = [self.settings.powershell, "-NoProfile", "-NonInteractive", "-Command",
                BOOTSTRAP]
        done = self.runner.run(argv, kind=kind, timeout=timeout, stdin=text.encode("utf-8"))
        if not done.ok:
            raise fault(done, what)
        return done.stdout

    def read(self, script: str, what: str = "") -> str:
        return self.run(script, what=what, kind=CallKind.READ)

    def list(self, script: str) -> str:
        return self.run(script, kind=CallKind.LIST)

    def write_file(self, path: str, data: bytes) -> None:
        self.runner.write_file(path, data)

    def close(self) -> None:
        self.runner.close()
