"""The libvirt client never has more calls in flight on its connection than libvirtd
serves per client (max_client_requests, 5 by default): past it the daemon stops
reading the socket, and an upload stream on that socket then hangs every call."""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest

from provisioner.providers.base import CallKind, ProviderStats
from provisioner.providers.libvirt.client import MAX_IN_FLIGHT, LibvirtClient


def test_calls_from_many_threads_stay_below_the_daemons_request_limit() -> None:
    client = LibvirtClient("test:///default", ProviderStats())
    lock = threading.Lock()
    running = 0
    peak = 0

    def slow_call() -> None:
        nonlocal running, peak
        with lock:
            running += 1
            peak = max(peak, running)
        time.sleep(0.02)
        with lock:
            running -= 1

    with ThreadPoolExecutor(16) as pool:
        list(pool.map(lambda _: client.call(CallKind.READ, "x", slow_call), range(48)))
    assert MAX_IN_FLIGHT < 5
    assert peak == MAX_IN_FLIGHT
    assert client.stats.calls[CallKind.READ] == 48


def test_a_failed_call_gives_its_slot_back() -> None:
    client = LibvirtClient("test:///default", ProviderStats())

    def boom() -> None:
        raise RuntimeError("not a libvirt error")

    for _ in range(MAX_IN_FLIGHT + 2):
        with pytest.raises(RuntimeError):
            client.call(CallKind.READ, "x", boom)
    assert client.call(CallKind.READ, "x", lambda: 7) == 7
