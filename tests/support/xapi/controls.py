"""Test controls: the call log, injected failures and delays."""

from __future__ import annotations

import threading
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from .errors import XapiError


@dataclass(frozen=True)
class Call:
    method: str
    args: tuple[Any, ...]


@dataclass
class Controls:
    task_seconds: float = 0.0
    lock: threading.Lock = field(default_factory=threading.Lock)
    calls: list[Call] = field(default_factory=list)
    failures: dict[str, list[XapiError]] = field(default_factory=lambda: defaultdict(list))
    task_failures: dict[str, list[XapiError]] = field(default_factory=lambda: defaultdict(list))
    delays: dict[str, float] = field(default_factory=dict)

    def record(self, method: str, args: tuple[Any, ...]) -> None:
        with self.lock:
            self.calls.append(Call(method, args))

    def snapshot_calls(self) -> list[Call]:
        with self.lock:
            return list(self.calls)

    def clear_calls(self) -> None:
        with self.lock:
            self.calls.clear()

    def fail(self, method: str, error: XapiError, times: int) -> None:
        with self.lock:
            self.failures[method].extend([error] * times)

    def fail_task(self, method: str, error: XapiError, times: int) -> None:
        with self.lock:
            self.task_failures[method].extend([error] * times)

    def take_failure(self, method: str) -> XapiError | None:
        with self.lock:
            queue = self.failures.get(method)
            return queue.pop(0) if queue else None

    def take_task_failure(self, method: str) -> XapiError | None:
        with self.lock:
            queue = self.task_failures.get(method)
            return queue.pop(0) if queue else None

    def delay_of(self, method: str) -> float:
        with self.lock:
            return self.delays.get(method, 0.0)
