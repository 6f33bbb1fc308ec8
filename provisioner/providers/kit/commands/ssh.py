"""Commands on another machine through the ``ssh`` client.

The remote side runs the command through the login shell of the user, so the
argv is quoted with ``shlex.join`` into one command line: each argument
arrives as it was given, whatever spaces or quotes it holds. ``BatchMode``
makes ssh fail instead of asking for a password; authentication is the user's
(keys, agent, ``~/.ssh/config``). Exit code 255 is ssh's own failure (host
unreachable, authentication refused): a ProviderError naming the host, not the
remote program's answer.
"""

from __future__ import annotations

import shlex
import subprocess
from collections.abc import Sequence

from provisioner.errors import ProviderError
from provisioner.providers.base import CallKind, ProviderStats
from provisioner.providers.kit.commands.runner import (
    Arg,
    Completed,
    Runner,
    not_started,
    plain,
    timed_out,
)

SSH_FAILED = 255


def remote_argv(ssh: Sequence[str], host: str, argv: Sequence[str],
                connect_timeout: float) -> list[str]:
    """The local argv that runs ``argv`` on ``host``."""
    return [*ssh, "-o", "BatchMode=yes", "-o", f"ConnectTimeout={max(1, int(connect_timeout))}",
            host, "--", shlex.join(argv)]


class SshRunner(Runner):
    """Runs commands on ``host`` (``user@host``, an ssh_config alias)."""

    def __init__(self, stats: ProviderStats, timeout: float, host: str,
                 ssh: Sequence[str] = ("ssh",), connect_timeout: float = 10.0) -> None:
        super().__init__(stats, timeout)
        self.host = host
        self.ssh = tuple(ssh)
        self.connect_timeout = connect_timeout

    @property
    def where(self) -> str:
        return f"host {self.host}"

    def _run(self, argv: Sequence[Arg], timeout: float, stdin: bytes | None) -> Completed:
        command = remote_argv(self.ssh, self.host, plain(argv), self.connect_timeout)
        try:
            done = subprocess.run(command, input=stdin, capture_output=True, timeout=timeout,
                                  check=False)
        except FileNotFoundError:
            raise not_started("ssh", "this machine", "the ssh client is not installed",
                              "install OpenSSH's client") from None
        except subprocess.TimeoutExpired:
            raise timed_out(argv, self.where, timeout) from None
        stderr = done.stderr.decode("utf-8", "replace")
        if done.returncode == SSH_FAILED:
            raise ProviderError(f"ssh to {self.host} failed: {stderr.strip() or 'exit 255'}",
                                hint="check that `ssh HOST` logs in without a password "
                                     "prompt (a key in the agent or ~/.ssh/config)")
        return Completed(tuple(str(arg) for arg in argv), done.returncode,
                         done.stdout.decode("utf-8", "replace"), stderr)

    def write_file(self, path: str, data: bytes) -> None:
        folder = path.rsplit("/", 1)[0] or "/"
        script = f"mkdir -p {shlex.quote(folder)} && cat > {shlex.quote(path)}"
        with self.stats.track(CallKind.WRITE):
            done = self._run(["sh", "-c", script], self.timeout, data)
        if not done.ok:
            raise ProviderError(f"cannot write {path} on {self.where}: "
                                f"{done.stderr.strip() or f'exit {done.code}'}")
