"""The libvirt client's connections: never more calls in flight on one than libvirtd
serves per client (max_client_requests, 5 by default), and changes spread over a
few writer connections (test drivers keep one)."""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest

from provisioner.providers.base import CallKind, ProviderStats
from provisioner.providers.libvirt.client import MAX_IN_FLIGHT, WRITERS, LibvirtClient


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


class _FakeConn:
    opened = 0

    def __init__(self) -> None:
        _FakeConn.opened += 1
        self.closed = False

    def close(self) -> None:
        self.closed = True


def _client(uri: str, monkeypatch: pytest.MonkeyPatch) -> LibvirtClient:
    _FakeConn.opened = 0
    client = LibvirtClient(uri, ProviderStats())
    monkeypatch.setattr(client, "_open", _FakeConn)
    return client


def test_changes_spread_over_at_most_writers_connections(
        monkeypatch: pytest.MonkeyPatch) -> None:
    client = _client("qemu:///system", monkeypatch)
    main = client.conn
    seen: list[object] = []
    changes = WRITERS + 2
    barrier = threading.Barrier(changes)

    def change(_: int) -> None:
        with client.dedicated():
            barrier.wait(timeout=5)  # all inside at once
            mine = client.conn
            seen.append(mine)
            with client.dedicated():  # nested: the same connection
                assert client.conn is mine

    with ThreadPoolExecutor(changes) as pool:
        list(pool.map(change, range(changes)))
    writers = {id(conn) for conn in seen}
    assert len(writers) == WRITERS
    assert id(main) not in writers
    assert client.conn is main  # outside a block: the main connection again
    assert _FakeConn.opened == 1 + WRITERS


def test_a_test_driver_keeps_one_connection(monkeypatch: pytest.MonkeyPatch) -> None:
    client = _client("test:///tmp/node.xml", monkeypatch)
    main = client.conn
    with client.dedicated():
        assert client.conn is main
    assert _FakeConn.opened == 1


def test_close_closes_what_it_opened_and_not_a_shared_connection(
        monkeypatch: pytest.MonkeyPatch) -> None:
    client = _client("qemu:///system", monkeypatch)
    lent = _FakeConn()
    client.share(lent)  # type: ignore[arg-type]
    with client.dedicated():
        writer = client.conn
    assert client.conn is lent
    client.close()
    assert writer.closed and not lent.closed


def test_a_read_failure_without_an_error_code_is_asked_again_a_write_is_not(
        monkeypatch: pytest.MonkeyPatch) -> None:
    import libvirt

    from provisioner.errors import ProviderError
    from provisioner.providers.kit.retry import RetryPolicy
    from provisioner.providers.libvirt import client as client_module

    monkeypatch.setattr(client_module, "RETRY", RetryPolicy(start=0.0, max=0.0, attempts=3))
    client = LibvirtClient("test:///default", ProviderStats())
    attempts = {"read": 0, "write": 0}

    def flaky(kind: str) -> str:
        attempts[kind] += 1
        if attempts[kind] == 1:
            raise libvirt.libvirtError("virDomainLookupByName() failed")  # no error recorded
        return "ok"

    assert client.call(CallKind.READ, "x", flaky, "read") == "ok"
    assert attempts["read"] == 2
    with pytest.raises(ProviderError):
        client.call(CallKind.WRITE, "x", flaky, "write")
    assert attempts["write"] == 1


@pytest.mark.parametrize("uri, words", [
    ("qemu+ssh://root@kvm-a/system", "known_hosts"),
    ("qemu+tcp://kvm-a/system", "SASL"),
    ("qemu:///system", "scripts/testbed start"),
])
def test_a_failed_connect_says_what_to_check_for_its_transport(uri: str, words: str) -> None:
    from provisioner.providers.libvirt.client import _connect_hint

    assert words in _connect_hint(uri)


@pytest.mark.parametrize("errno_value, retried", [(11, True), (28, False)])  # EAGAIN, ENOSPC
def test_a_system_error_of_eagain_is_asked_again_even_for_a_write(
        errno_value: int, retried: bool, monkeypatch: pytest.MonkeyPatch) -> None:
    import libvirt

    from provisioner.errors import ProviderError
    from provisioner.providers.kit.retry import RetryPolicy
    from provisioner.providers.libvirt import client as client_module

    monkeypatch.setattr(client_module, "RETRY", RetryPolicy(start=0.0, max=0.0, attempts=3))
    client = LibvirtClient("test:///default", ProviderStats())
    attempts = []

    def start() -> str:
        attempts.append(1)
        if len(attempts) == 1:
            error = libvirt.libvirtError("virDomainCreate() failed")
            error.err = (libvirt.VIR_ERR_SYSTEM_ERROR, libvirt.VIR_FROM_CGROUP,
                         "failed to load cgroup BPF prog: Resource temporarily unavailable",
                         libvirt.VIR_ERR_ERROR, None, None, None, errno_value, -1)
            raise error
        return "started"

    if retried:
        assert client.call(CallKind.WRITE, "guests.web-0", start) == "started"
        assert len(attempts) == 2
    else:
        with pytest.raises(ProviderError, match="cgroup BPF"):
            client.call(CallKind.WRITE, "guests.web-0", start)
        assert len(attempts) == 1
