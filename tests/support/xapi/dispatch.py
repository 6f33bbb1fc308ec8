"""One XML-RPC call: the generic checks every XAPI message gets, then the
registered behaviour or the implicit accessor, then the wire encoding.

Order of checks (as XAPI's generated dispatcher does them): unknown message,
parameter count, session, removed message, parameter types, RBAC, references,
injected test failures, then the call itself (or a task for ``Async.*``).
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

from .accessors import run_implicit
from .errors import XapiError, handle_invalid
from .registry import HANDLERS, CallContext
from .sessions import LOGIN_MESSAGES
from .wire import NULL_REF, decode, encode

if TYPE_CHECKING:
    from .simulator import XapiSimulator

ASYNC_PREFIX = "Async."
ASYNC_IMPLICIT = ("create", "destroy")  # the only generated messages XAPI also offers Async
VERSIONED_DEFAULTS: dict[str, tuple[Any, ...]] = {"VM.snapshot": ([],)}
"""Trailing parameters added in later releases, with the defaults XAPI fills in when a
client of an older release leaves them out (the published JSON lacks them)."""


def success(value: Any) -> dict[str, Any]:
    return {"Status": "Success", "Value": value}


def failure(error: XapiError) -> dict[str, Any]:
    return {"Status": "Failure", "ErrorDescription": error.description}


class Dispatcher:
    def __init__(self, sim: XapiSimulator, *, member: bool = False) -> None:
        self.sim = sim
        self.member = member

    def __call__(self, method: str, params: tuple[Any, ...]) -> dict[str, Any]:
        try:
            return success(self._dispatch(method, list(params)))
        except XapiError as error:
            return failure(error)

    def _dispatch(self, method: str, params: list[Any]) -> Any:
        sim = self.sim
        is_async = method.startswith(ASYNC_PREFIX)
        name = method[len(ASYNC_PREFIX):] if is_async else method
        msg = sim.model.message(name)
        with_session = name not in LOGIN_MESSAGES and (msg is None or msg.takes_session)
        sim.controls.record(method, tuple(params[1:] if with_session else params))
        if name in LOGIN_MESSAGES and not is_async:
            if self.member:
                raise XapiError("HOST_IS_SLAVE", sim.master_address)
            injected = sim.controls.take_failure(name)
            if injected:
                raise injected
            return sim.sessions.login(params, sim.master_host_ref())
        if msg is None or (is_async and msg.implicit and msg.name not in ASYNC_IMPLICIT):
            raise XapiError("MESSAGE_METHOD_UNKNOWN", method)
        params = with_defaults(name, params, len(msg.params))
        received = len(params) - (1 if msg.takes_session else 0)
        if received != len(msg.args):
            raise XapiError("MESSAGE_PARAMETER_COUNT_MISMATCH", name, str(len(msg.args)),
                            str(received))
        session = params[0] if msg.takes_session else ""
        role = sim.sessions.role_of(session) if msg.takes_session else "pool-admin"
        if msg.removed:
            raise XapiError("MESSAGE_REMOVED")
        raw_args = params[1:] if msg.takes_session else params
        args = [decode(sim.model, ty, value) for (_, ty), value in zip(msg.args, raw_args,
                                                                       strict=True)]
        if role not in msg.roles:
            raise XapiError("RBAC_PERMISSION_DENIED", name, "No permission in user session")
        with sim.store.lock:
            for (_, ty), value in zip(msg.args, args, strict=True):
                if ty.kind == "ref" and value != NULL_REF and ty.name != "session" \
                        and not sim.store.exists(ty.name, value):
                    raise handle_invalid(ty.name, value)
        injected = sim.controls.take_failure(name)
        if injected:
            raise injected
        ctx = CallContext(sim, msg, session)
        if is_async:
            return sim.tasks.launch(ctx, args)
        delay = sim.controls.delay_of(name)
        if delay:
            time.sleep(delay)
        with sim.store.lock:
            return encode(sim.model, msg.result, execute(ctx, args))


def with_defaults(name: str, params: list[Any], expected: int) -> list[Any]:
    """``params`` with the versioned defaults of the trailing ones a client left out."""
    missing = expected - len(params)
    defaults = VERSIONED_DEFAULTS.get(name, ())
    return [*params, *defaults[len(defaults) - missing:]] if 0 < missing <= len(defaults) \
        else params


def execute(ctx: CallContext, args: list[Any]) -> Any:
    """Run a message's behaviour; the caller holds the store lock."""
    handler = HANDLERS.get(ctx.message.wire_name)
    if handler is not None:
        return handler(ctx, *args)
    if ctx.message.implicit:
        return run_implicit(ctx, args)
    raise XapiError("NOT_IMPLEMENTED", ctx.message.wire_name)
