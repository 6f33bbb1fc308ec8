"""Retrying transient faults: one backoff policy, one loop.

Each client decides what is worth asking again (a lock held, a 5xx, a task in
progress, a dropped connection) and hands that to ``retrying`` as ``retryable``;
its budget (a provider block's ``retry_timeout``, or a number of attempts) is
part of the policy it passes. The policy says how long to wait between
attempts, a delay growing by ``factor`` from ``start`` up to ``max``, spread by
``jitter`` so that parallel changes do not retry in step, and when to stop:
after ``attempts``, or when the next wait would end past ``deadline`` seconds
after the first attempt began. The last error is then raised as it was.

Never retry here a create whose answer was lost: it may have happened. Its
client raises instead, and the create looks at what the hypervisor holds.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from typing import TypeVar

T = TypeVar("T")


@dataclass(frozen=True)
class RetryPolicy:
    """How often, and how long apart, one call is attempted."""

    start: float
    """The first wait, in seconds."""
    max: float
    """No wait is longer (before jitter)."""
    factor: float = 2.0
    """Each wait is the previous one times this."""
    jitter: float = 0.0
    """Each wait is scaled by a random factor within 1 ± jitter (0: exact waits)."""
    attempts: int | None = None
    """Attempts at most, the first included (None: as many as the deadline allows)."""
    deadline: float | None = None
    """Seconds after the first attempt past which no wait may end (None: no limit)."""

    def within(self, deadline: float) -> RetryPolicy:
        """This policy with a budget of ``deadline`` seconds (a block's retry_timeout)."""
        return replace(self, deadline=deadline)

    def waits(self) -> Iterator[float]:
        """The waits before each retry while the budget lasts, jittered. The deadline
        counts from this call: make the iterator before the first attempt."""
        end = None if self.deadline is None else time.monotonic() + self.deadline
        delay, attempt = self.start, 1
        while self.attempts is None or attempt < self.attempts:
            if end is not None and time.monotonic() + delay > end:
                return
            yield delay * random.uniform(1 - self.jitter, 1 + self.jitter) \
                if self.jitter else delay
            delay, attempt = min(delay * self.factor, self.max), attempt + 1


def retrying(action: Callable[[], T], policy: RetryPolicy,
             retryable: Callable[[Exception], bool]) -> T:
    """``action()``, attempted again after each error ``retryable`` accepts while
    ``policy`` allows; any other error, and the last one, is raised unchanged."""
    waits = policy.waits()
    while True:
        try:
            return action()
        except Exception as exc:
            wait = next(waits, None) if retryable(exc) else None
            if wait is None:
                raise
        time.sleep(wait)
