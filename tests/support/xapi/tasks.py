"""Async.* calls: a task object, a background thread, progress, cancel.

The published model has no per-message "async" flag, so every explicit
(non-implicit) message, plus the generated create/destroy, may be called as
``Async.<class>.<message>``.  The task waits ``sim.task_seconds`` (plus any
``sim.delay`` for the message) in small steps, raising ``progress`` and
honouring ``task.cancel``; then the operation runs atomically, so a cancelled
task never did its operation.  ``result`` holds the XML-RPC ``<value>`` text
of the marshalled result, as XAPI stores it ("<value></value>" for void).
"""

from __future__ import annotations

import threading
import time
from typing import TYPE_CHECKING, Any
from xml.sax.saxutils import escape

from .errors import XapiError
from .registry import CallContext
from .wire import encode, now

if TYPE_CHECKING:
    from .simulator import XapiSimulator

STEPS = 10


def value_xml(value: Any) -> str:
    """XAPI's XML-RPC text of a wire value (ints are already strings)."""
    if isinstance(value, bool):
        return f"<value><boolean>{int(value)}</boolean></value>"
    if isinstance(value, float):
        return f"<value><double>{value:.16g}</double></value>"
    if isinstance(value, str):
        return f"<value>{escape(value)}</value>"
    if isinstance(value, list):
        return "<value><array><data>" + "".join(value_xml(v) for v in value) + \
            "</data></array></value>"
    if isinstance(value, dict):
        members = "".join(f"<member><name>{escape(str(k))}</name>{value_xml(v)}</member>"
                          for k, v in value.items())
        return f"<value><struct>{members}</struct></value>"
    text = getattr(value, "value", value)  # xmlrpc.client.DateTime
    return f"<value><dateTime.iso8601>{text}</dateTime.iso8601></value>"


class TaskRunner:
    def __init__(self, sim: XapiSimulator) -> None:
        self.sim = sim
        self.cancels: dict[str, threading.Event] = {}
        self.threads: list[threading.Thread] = []

    def launch(self, ctx: CallContext, args: list[Any]) -> str:
        store = self.sim.store
        with store.lock:
            task = store.new("task", {
                "name_label": f"Async.{ctx.message.wire_name}", "status": "pending",
                "progress": 0.0, "created": now(), "allowed_operations": ["cancel"],
                "resident_on": self.sim.master_host_ref(),
            })
            self.cancels[task] = ctx.cancelled
        ctx.task = task
        thread = threading.Thread(target=self._run, args=(ctx, args), daemon=True,
                                  name=f"xapi-sim {ctx.message.wire_name}")
        self.threads.append(thread)
        thread.start()
        return task

    def cancel(self, task: str) -> None:
        record = self.sim.store.get("task", task)
        if record["status"] != "pending" or task not in self.cancels:
            raise XapiError("OPERATION_NOT_ALLOWED", "task is not pending")
        self.cancels[task].set()
        self.sim.store.set("task", task, "current_operations", {task: "cancel"})

    def _run(self, ctx: CallContext, args: list[Any]) -> None:
        from .dispatch import execute

        store = self.sim.store
        name = ctx.message.wire_name
        seconds = self.sim.task_seconds + self.sim.controls.delay_of(name)
        task = ctx.task
        assert task is not None
        for step in range(1, STEPS + 1):
            if seconds and ctx.cancelled.wait(seconds / STEPS):
                break
            if ctx.cancelled.is_set():
                break
            with store.lock:
                if store.exists("task", task):
                    store.set("task", task, "progress", round(step / (STEPS + 1), 3))
        with store.lock:
            if not store.exists("task", task):
                return
            outcome: dict[str, Any]
            injected = self.sim.controls.take_task_failure(name)
            if ctx.cancelled.is_set():
                outcome = {"status": "cancelled", "error_info": ["TASK_CANCELLED", task]}
            elif injected is not None:
                outcome = {"status": "failure", "error_info": injected.description}
            else:
                try:
                    result = encode(self.sim.model, ctx.message.result, execute(ctx, args))
                    outcome = {"status": "success", "result": value_xml(result)}
                except XapiError as error:
                    outcome = {"status": "failure", "error_info": error.description}
            store.update("task", task, progress=1.0, finished=now(), allowed_operations=[],
                         current_operations={}, **outcome)
            self.cancels.pop(task, None)

    def join(self, timeout: float = 5.0) -> None:
        deadline = time.monotonic() + timeout
        for thread in self.threads:
            thread.join(max(0.0, deadline - time.monotonic()))
