"""Proxmox tasks: most writes answer with a UPID and do their work in a worker.

A task is polled at the node its UPID names (``UPID:NODE:...``), not at the
node the request went to. A stopped task may have failed: only ``exitstatus
== "OK"`` is success (proxmoxer's ``blocking_status`` returns None on a
timeout and cannot tell). A failed task's error carries the end of its log,
read 50 lines a page as Proxmox serves it.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from provisioner.errors import ProviderError, TransientProviderError
from provisioner.providers.base import CallKind
from provisioner.providers.proxmox.client import ProxmoxClient, is_transient_message

LOG_PAGE = 50
LOG_TAIL = 8
MAX_LOG_PAGES = 40
POLL_START = 0.05
POLL_MAX = 1.0


class TaskFailedError(ProviderError):
    """A Proxmox task ended with an exit status other than OK."""

    def __init__(self, message: str, hint: str = "", *, exitstatus: str = "") -> None:
        super().__init__(message, hint)
        self.exitstatus = exitstatus


class TransientTaskError(TaskFailedError, TransientProviderError):
    """A task that failed for a reason worth retrying (a lock timeout, lost quorum)."""


def node_of(upid: str) -> str:
    """The node a UPID names: ``UPID:pve2:...`` → ``pve2``."""
    parts = upid.split(":")
    if len(parts) < 3 or parts[0] != "UPID":
        raise ProviderError(f"Proxmox answered '{upid[:80]}' where a task id (UPID) was due")
    return parts[1]


class Tasks:
    """Waits for tasks of one client."""

    def __init__(self, client: ProxmoxClient, timeout: float) -> None:
        self.client = client
        self.timeout = timeout

    def run(self, what: str, start: Callable[[], Any], *, idempotent: bool = True) -> None:
        """Start a task with ``start`` (a call answering a UPID) and wait for it; a task
        that fails transiently (a lock held past its timeout) is started again, within
        the client's retry budget. Raises TaskFailedError with the log's end.
        ``idempotent=False``: a lost answer is not retried (see ProxmoxClient.call)."""

        def attempt() -> None:
            answer = start()
            if isinstance(answer, str) and answer.startswith("UPID:"):
                self.wait(answer, what)

        self.client.retrying(what, attempt, idempotent=idempotent)

    def wait(self, upid: str, what: str) -> None:
        """Poll until the task stops; raise unless its exit status is OK."""
        node = node_of(upid)
        path = f"nodes/{node}/tasks/{upid}"
        deadline = time.monotonic() + self.timeout
        delay = POLL_START
        while True:
            status = self.client.get(CallKind.READ, what, f"{path}/status")
            if status.get("status") == "stopped":
                break
            if time.monotonic() > deadline:
                raise ProviderError(
                    f"{what}: task {_task_type(upid)} on {node} still runs after "
                    f"{self.timeout:.0f}s ({upid})",
                    hint="see the task in the Proxmox UI; raise task_timeout if it is just slow")
            time.sleep(delay)
            delay = min(delay * 2, POLL_MAX)
        exitstatus = str(status.get("exitstatus") or "unknown")
        if exitstatus == "OK" or exitstatus.startswith("WARNINGS"):
            return
        tail = self._log_tail(path, what)
        lines = "\n".join(f"    {line}" for line in tail)
        message = f"{what}: task {_task_type(upid)} on {node} failed: {exitstatus}"
        if lines:
            message += f"\n  end of the task log:\n{lines}"
        cls = TransientTaskError if is_transient_message(exitstatus) else TaskFailedError
        raise cls(message, hint=f"the whole log: Proxmox UI, node {node}, Task History",
                  exitstatus=exitstatus)

    def _log_tail(self, path: str, what: str) -> list[str]:
        """The last lines of a task's log (best effort: a failure to read it is no error)."""
        lines: list[str] = []
        try:
            for page in range(MAX_LOG_PAGES):
                chunk = self.client.get(CallKind.READ, what, f"{path}/log",
                                        start=page * LOG_PAGE, limit=LOG_PAGE)
                lines += [str(entry.get("t", "")) for entry in chunk or []]
                if len(chunk or []) < LOG_PAGE:
                    break
        except ProviderError:
            pass
        return [line for line in lines if line][-LOG_TAIL:]


def _task_type(upid: str) -> str:
    parts = upid.split(":")
    return parts[5] if len(parts) > 5 else "?"
