"""Where behaviour modules register the messages they implement, and the
context a handler runs with."""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, TypeVar

from .model import MessageDef, Model
from .store import ObjectStore

if TYPE_CHECKING:
    from .simulator import XapiSimulator

Handler = Callable[..., Any]
HANDLERS: dict[str, Handler] = {}
H = TypeVar("H", bound=Handler)


def handles(*wire_names: str) -> Callable[[H], H]:
    """Register ``fn(ctx, *args)`` for the named messages (e.g. "VM.start")."""
    def register(fn: H) -> H:
        for name in wire_names:
            HANDLERS[name] = fn
        return fn
    return register


@dataclass
class CallContext:
    sim: XapiSimulator
    message: MessageDef
    session: str
    task: str | None = None
    cancelled: threading.Event = field(default_factory=threading.Event)

    @property
    def store(self) -> ObjectStore:
        return self.sim.store

    @property
    def model(self) -> Model:
        return self.sim.model
