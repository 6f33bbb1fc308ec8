"""The last bulk read of a provider block, kept for the plan-time checks and capacity
that follow it (they must not read the hypervisor again), safe across the threads an
apply runs changes in."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Generic, TypeVar

T = TypeVar("T")


class LastRead(Generic[T]):
    """``refresh()`` reads (``read``) and keeps; ``last()`` gives what was kept, reading
    first when nothing was."""

    def __init__(self, read: Callable[[], T]) -> None:
        self._read = read
        self._last: T | None = None
        self._lock = threading.Lock()

    def refresh(self) -> T:
        found = self._read()
        with self._lock:
            self._last = found
        return found

    def last(self) -> T:
        with self._lock:
            found = self._last
        return found if found is not None else self.refresh()
