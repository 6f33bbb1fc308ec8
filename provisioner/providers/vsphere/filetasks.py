"""Waiting for the tasks of the file and disk managers and the datastore browser.

Their tasks are waited for as the client waits for any (``client.task_info``: only
``info.state``, ``info.error`` and ``info.result``, one PropertyCollector retrieval
per poll; the simulator reports the FileManager or VirtualDiskManager as the
task's ``entity``, which pyVmomi refuses to read), keeping vSphere's fault for
the caller to look at (``not_found``).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from pyVmomi import vim

from provisioner.errors import ProviderError
from provisioner.providers.base import CallKind
from provisioner.providers.vsphere.client import VsphereClient, task_info
from provisioner.providers.vsphere.faults import TaskTimeoutError, translate
from provisioner.providers.vsphere.session import Session

POLL_START = 0.02
POLL_MAX = 1.0


class TaskFailedError(ProviderError):
    """A file task that failed; ``fault`` is vSphere's fault (FileNotFound, ...)."""

    def __init__(self, message: str, fault: Any) -> None:
        super().__init__(message)
        self.fault = fault


def run_file_task(client: VsphereClient, what: str, start: Callable[[Session], Any],
                  kind: CallKind = CallKind.WRITE) -> Any:
    """Start a task (one call counted as ``kind``) and wait for its result. Raises
    TaskFailedError with the translated message and the fault when it fails."""
    task = client.call(kind, what, start, retry=False)
    deadline = time.monotonic() + client.settings.task_timeout
    delay = POLL_START
    while True:
        found = client.call(CallKind.READ, what, lambda s: task_info(s, task))
        state = str(found.get("info.state"))
        if state == "success":
            return found.get("info.result")
        if state == "error":
            fault = found.get("info.error")
            message = translate(fault, what).message if fault is not None else \
                f"{what}: the task failed"
            raise TaskFailedError(message, fault)
        if time.monotonic() > deadline:
            raise TaskTimeoutError(f"{what}: the task still runs after "
                                   f"{client.settings.task_timeout:g}s ({task._moId})")
        time.sleep(delay)
        delay = min(delay * 2, POLL_MAX)


def not_found(error: TaskFailedError) -> bool:
    return isinstance(error.fault, vim.fault.FileNotFound)

