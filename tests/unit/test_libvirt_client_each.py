"""``LibvirtClient.each``: per-object reads pipelined on one connection (no daemon)."""

from __future__ import annotations

import threading

import pytest

from provisioner.errors import ProviderError
from provisioner.providers.base import ProviderStats
from provisioner.providers.libvirt.client import BATCH, IN_FLIGHT, LibvirtClient


def _client() -> LibvirtClient:
    return LibvirtClient("test:///default", ProviderStats())  # never opened here


def test_results_come_in_the_order_of_the_items_across_batches() -> None:
    items = list(range(BATCH * IN_FLIGHT * 3 + 5))
    assert list(_client().each(lambda n: n * n, items)) == [n * n for n in items]


def test_reads_run_on_several_threads_at_once() -> None:
    threads: set[str] = set()
    barrier = threading.Barrier(2, timeout=5)

    def read(item: int) -> int:
        threads.add(threading.current_thread().name)
        if item % BATCH == 0 and item < 2 * BATCH:
            barrier.wait()  # the first two batches must be in flight together
        return item

    assert list(_client().each(read, list(range(2 * BATCH)))) == list(range(2 * BATCH))
    assert len(threads) >= 2


def test_a_failed_read_is_raised_to_the_caller() -> None:
    def read(item: int) -> int:
        if item == 3:
            raise ProviderError("domain 3: gone wrong")
        return item

    with pytest.raises(ProviderError, match="domain 3"):
        list(_client().each(read, list(range(10 * BATCH))))


def test_no_items_no_reads() -> None:
    assert list(_client().each(lambda n: n, [])) == []
