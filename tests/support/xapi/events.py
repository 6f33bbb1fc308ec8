"""event.from / event.inject, the task messages (cancel, destroy) and session.logout.

event.from follows xapi_event.ml: the token is "<generation>,<message generation>"
(zero-padded); "" means generation 0, so the first call returns every object
that exists as an ``add`` event.  Objects created after the token are ``add``,
changed ones ``mod``, destroyed ones ``del`` (without a snapshot).  With
nothing new the call blocks until something changes or ``timeout`` seconds
pass, then returns an empty batch and a fresh token.  Subscriptions are
lowercase class names, "*", or "class/ref".
"""

from __future__ import annotations

import time
from typing import Any

from .errors import XapiError
from .registry import CallContext, handles
from .store import ObjectStore

TOKEN_WIDTH = 20


def make_token(generation: int) -> str:
    return f"{generation:0{TOKEN_WIDTH}d},{0:0{TOKEN_WIDTH}d}"


def parse_token(token: str) -> int:
    if token == "":
        return 0
    parts = token.split(",")
    try:
        if len(parts) != 2:
            raise ValueError(token)
        return int(parts[0])
    except ValueError:
        raise XapiError("EVENT_FROM_TOKEN_PARSE_FAILURE", token) from None


def _subscribed(subs: list[str], cls: str, ref: str) -> bool:
    lower = cls.lower()
    return any(s == "*" or s.lower() == lower or s.lower() == f"{lower}/{ref}".lower()
               for s in subs)


def collect(ctx: CallContext, subs: list[str], since: int) -> list[dict[str, Any]]:
    store: ObjectStore = ctx.store
    events: list[dict[str, Any]] = []
    stamp = f"{time.time():.6f}"
    for ref, meta in store.meta.items():
        if meta.modified <= since or not _subscribed(subs, meta.cls, ref):
            continue
        operation = "add" if meta.created > since else "mod"
        events.append({"id": str(meta.modified), "timestamp": stamp,
                       "class": meta.cls.lower(), "operation": operation, "ref": ref,
                       "snapshot": store.wire_record(meta.cls, ref), "_order": meta.modified})
    for gone in store.deletions:
        if gone.generation > since and _subscribed(subs, gone.cls, gone.ref):
            events.append({"id": str(gone.generation), "timestamp": stamp,
                           "class": gone.cls.lower(), "operation": "del", "ref": gone.ref,
                           "_order": gone.generation})
    events.sort(key=lambda e: e.pop("_order"))
    return events


@handles("event.from")
def event_from(ctx: CallContext, classes: list[str], token: str, timeout: float) -> Any:
    store = ctx.store
    since = parse_token(token)
    deadline = time.monotonic() + max(0.0, timeout)
    while True:
        events = collect(ctx, classes, since)
        remaining = deadline - time.monotonic()
        if events or remaining <= 0:
            break
        store.changed.wait(remaining)
    counts = {cls.lower(): len(table) for cls, table in store.tables.items() if table}
    return {"events": events, "valid_ref_counts": counts,
            "token": make_token(store.generation)}


@handles("event.inject")
def event_inject(ctx: CallContext, cls: str, ref: str) -> str:
    store = ctx.store
    if store.class_of(ref) != cls:
        raise XapiError("HANDLE_INVALID", cls, ref)
    generation = store.generation
    store.touch(ref)
    return make_token(generation)


@handles("event.get_current_id")
def event_current_id(ctx: CallContext) -> int:
    return ctx.store.generation


@handles("task.cancel")
def task_cancel(ctx: CallContext, task: str) -> None:
    ctx.sim.tasks.cancel(task)


@handles("task.destroy")
def task_destroy(ctx: CallContext, task: str) -> None:
    cancel = ctx.sim.tasks.cancels.pop(task, None)
    if cancel is not None:  # a running task loses its record; its thread sees it gone
        cancel.set()
    ctx.store.destroy("task", task)


@handles("session.logout")
def session_logout(ctx: CallContext) -> None:
    ctx.sim.sessions.logout(ctx.session)
