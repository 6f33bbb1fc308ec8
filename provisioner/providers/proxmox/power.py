"""Power and locks of one guest or container: status, start, clean stop, restart.

A clean stop is Proxmox's shutdown with ``forceStop``: the guest gets
``shutdown_timeout`` seconds to power off through ACPI (or ``lxc-stop``), then
it is stopped hard, so a guest that ignores ACPI cannot hang an apply. A
restart is a clean stop and a start: Proxmox applies pending changes when
the guest starts.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Any

from provisioner.errors import TransientProviderError
from provisioner.providers.base import CallKind
from provisioner.providers.proxmox.client import ProxmoxClient
from provisioner.providers.proxmox.limits import Limits
from provisioner.providers.proxmox.tasks import TaskFailedError, Tasks

LOCK_POLL = 0.2


class Power:
    """Power operations, each a task waited on, bounded per node."""

    def __init__(self, client: ProxmoxClient, tasks: Tasks, limits: Limits,
                 shutdown_timeout: int) -> None:
        self.client = client
        self.tasks = tasks
        self.limits = limits
        self.shutdown_timeout = shutdown_timeout

    def running(self, path: str, what: str) -> bool:
        status = self.client.get(CallKind.READ, what, f"{path}/status/current")
        return str(status.get("status")) == "running"

    def start(self, path: str, node: str, what: str) -> None:
        """Start it; a start whose answer was lost and is repeated finds it running: done."""
        try:
            with self.limits.hold(node):
                self.tasks.run(what, lambda: self.client.post(what, f"{path}/status/start"))
        except TaskFailedError:
            if not self.running(path, what):
                raise

    def stop(self, path: str, node: str, what: str, *, clean: bool = True) -> None:
        """A clean shutdown that ends in a hard stop after the timeout; or a hard stop.
        A stop that fails on a guest that is stopped anyway is done."""
        try:
            with self.limits.hold(node):
                if clean:
                    self.tasks.run(what, lambda: self.client.post(
                        what, f"{path}/status/shutdown", timeout=self.shutdown_timeout,
                        forceStop=1))
                else:
                    self.tasks.run(what, lambda: self.client.post(what, f"{path}/status/stop"))
        except TaskFailedError:
            if self.running(path, what):
                raise

    def restart(self, path: str, node: str, what: str) -> None:
        self.stop(path, node, what)
        self.start(path, node, what)

    def set_power(self, path: str, node: str, what: str, running: bool, want: str) -> None:
        if want == "running" and not running:
            self.start(path, node, what)
        elif want == "stopped" and running:
            self.stop(path, node, what)

    def wait_unlocked(self, path: str, what: str) -> Mapping[str, Any]:
        """The config once no lock (clone, create, backup, ...) is on it. A clone's task
        can end before its lock is gone on a busy cluster; configuring then fails."""
        deadline = time.monotonic() + self.client.settings.retry_timeout
        while True:
            config: Mapping[str, Any] = self.client.get(CallKind.READ, what, f"{path}/config")
            lock = config.get("lock")
            if not lock:
                return config
            if time.monotonic() > deadline:
                raise TransientProviderError(
                    f"{what}: still locked ({lock}) after "
                    f"{self.client.settings.retry_timeout:.0f}s",
                    hint="another task holds it; apply again when it has finished")
            time.sleep(LOCK_POLL)
