"""The kit's retry policy and loop: the waits each site had, attempts, deadlines."""

from __future__ import annotations

import itertools

import pytest

from provisioner.providers.kit.retry import RetryPolicy, retrying

pytestmark = pytest.mark.unit


def test_waits_grow_by_the_factor_up_to_the_max() -> None:
    policy = RetryPolicy(start=0.25, max=5.0)
    assert list(itertools.islice(policy.waits(), 7)) == [0.25, 0.5, 1.0, 2.0, 4.0, 5.0, 5.0]


def test_the_libvirt_and_engine_schedules_are_those_they_had() -> None:
    from provisioner.engine import READ_AGAIN
    from provisioner.providers.libvirt.client import RETRY

    assert list(RETRY.waits()) == [0.2, 1.0, 3.0]  # 4 attempts
    assert list(READ_AGAIN.waits()) == [0.2, 0.4]  # 3 attempts


def test_jitter_spreads_each_wait_within_its_bounds() -> None:
    waits = list(itertools.islice(RetryPolicy(start=1.0, max=1.0, jitter=0.2).waits(), 50))
    assert all(0.8 <= wait <= 1.2 for wait in waits)
    assert len(set(waits)) > 1


def test_no_wait_ends_past_the_deadline() -> None:
    assert list(RetryPolicy(start=0.25, max=5.0, deadline=1.0).waits()) == [0.25, 0.5]
    assert list(RetryPolicy(start=0.25, max=5.0, deadline=0.0).waits()) == []


def test_retrying_asks_again_only_what_is_retryable(monkeypatch: pytest.MonkeyPatch) -> None:
    slept: list[float] = []
    monkeypatch.setattr("provisioner.providers.kit.retry.time.sleep", slept.append)
    calls = []

    def flaky() -> str:
        calls.append(1)
        if len(calls) < 3:
            raise TimeoutError("busy")
        return "ok"

    policy = RetryPolicy(start=0.1, max=1.0, attempts=5)
    assert retrying(flaky, policy, lambda exc: isinstance(exc, TimeoutError)) == "ok"
    assert slept == [0.1, 0.2]
    calls.clear()
    with pytest.raises(TimeoutError):
        retrying(flaky, policy, lambda _exc: False)
    assert len(calls) == 1


def test_the_last_error_is_raised_when_the_attempts_run_out(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("provisioner.providers.kit.retry.time.sleep", lambda _s: None)
    calls = []

    def failing() -> None:
        calls.append(1)
        raise TimeoutError(f"attempt {len(calls)}")

    with pytest.raises(TimeoutError, match="attempt 3"):
        retrying(failing, RetryPolicy(start=0.1, max=1.0, attempts=3), lambda _exc: True)
