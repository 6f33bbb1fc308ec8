"""Scripts on a Hyper-V host over WinRM (PowerShell remoting), through ``pypsrp``.

The one module that knows pypsrp (``pip install 'provisioner[hyperv]'``), imported
only by a block with ``host:``. A script runs as one pipeline in the host's
``Microsoft.PowerShell`` endpoint (``Client.execute_ps``); its error records become
the stderr the provider translates, as a local PowerShell's would be. Files go up
with ``Client.copy``. TLS is verified unless the block says otherwise (with its
``ca_file`` when given); the password is read from the environment variable the
block names, when the runner is built, and is handed to pypsrp only: it is in no
message, repr or script. This module has not met a real WinRM endpoint: its tests
check the client it configures, without a server.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Sequence
from typing import Any

from provisioner.errors import MissingExtraError, ProviderError
from provisioner.providers.base import CallKind, ProviderStats
from provisioner.providers.hyperv import HyperVConfig
from provisioner.providers.kit.commands.runner import Arg, Completed, Runner


def client_options(settings: HyperVConfig) -> dict[str, Any]:
    """pypsrp ``Client`` keyword arguments for the block, without the password."""
    verify: bool | str = False
    if settings.cert_validation:
        verify = settings.ca_file or True
    return {"port": settings.port, "username": settings.username, "ssl": settings.ssl,
            "auth": settings.auth, "cert_validation": verify,
            "operation_timeout": 20, "read_timeout": int(settings.timeout) + 10}


def password(settings: HyperVConfig, environ: Any = os.environ) -> str | None:
    if settings.password_env is None:
        return None
    found = environ.get(settings.password_env)
    if not found:
        raise ProviderError(f"the hyperv block's password_env names {settings.password_env}, "
                            "which is not set", hint=f"export {settings.password_env}")
    return str(found)


class PsrpRunner(Runner):
    """Runs the script given on "stdin" on ``settings.host``; the argv is not used."""

    def __init__(self, stats: ProviderStats, settings: HyperVConfig) -> None:
        super().__init__(stats, settings.timeout)
        try:
            from pypsrp.client import Client
        except ModuleNotFoundError as exc:
            raise MissingExtraError("hyperv", "pypsrp", "hyperv") from exc
        self.host = str(settings.host)
        self.client = Client(self.host, password=password(settings), **client_options(settings))

    @property
    def where(self) -> str:
        return f"host {self.host}"

    def __repr__(self) -> str:
        return f"PsrpRunner({self.host!r})"

    def _run(self, argv: Sequence[Arg], timeout: float, stdin: bytes | None) -> Completed:
        try:
            output, streams, failed = self.client.execute_ps((stdin or b"").decode("utf-8"))
        except Exception as exc:  # pypsrp's and requests' errors alike: the edge
            raise ProviderError(f"WinRM to {self.host} failed: {type(exc).__name__}: "
                                f"{str(exc)[:300]}", hint="check host, port, ssl, auth and "
                                "username, and that `Enable-PSRemoting` ran on the host") \
                from None
        errors = "\n".join(str(record) for record in streams.error)
        return Completed(("execute_ps",), 1 if failed else 0, str(output or ""), errors)

    def write_file(self, path: str, data: bytes) -> None:
        with self.stats.track(CallKind.WRITE), tempfile.TemporaryDirectory() as folder:
            local = os.path.join(folder, "upload")
            with open(local, "wb") as file:
                file.write(data)
            try:
                self.client.copy(local, path)
            except Exception as exc:  # the edge, as in _run
                raise ProviderError(f"cannot write {path} on {self.where}: "
                                    f"{type(exc).__name__}: {str(exc)[:300]}") from None
