"""What a libvirt guest begun ahead of its network does before the network exists
(``Provider.create_when``), on libvirt's in-process test driver: its disks, 2 guests
at a time (AHEAD_AT_ONCE), and its definition unless it reserves an address; its
start waits. The executor's side (when a create begins ahead) is
test_executor_ahead.py's; the real daemon's, tests/e2e/test_create_ahead.py's.
"""

from __future__ import annotations

import textwrap
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from support.libvirt_node import write_stack

from provisioner.core.address import Kind
from provisioner.core.resources import Resource
from provisioner.engine import Engine
from provisioner.providers.libvirt.guests import AHEAD_AT_ONCE
from provisioner.stack.loader import load_stack
from provisioner.state.local import SQLiteStore

pytestmark = pytest.mark.unit

STACK = """\
    apiVersion: provisioner/v1
    stack: ahead
    providers:
      kvm: { type: libvirt, uri: "test:///default", pool: default-pool }
    networks:
      ahead-lab: { provider: kvm, mode: nat, cidr: 10.66.1.0/24 }
    guests:
      ahead-node:
        provider: kvm
        count: 5
        disks: [ { size: 1GiB } ]
        networks: [ { network: ahead-lab } ]
      ahead-fixed:
        provider: kvm
        disks: [ { size: 1GiB } ]
        networks: [ { network: ahead-lab, ip: 10.66.1.50 } ]
    """


class _Ahead:
    """The guests' creates begun ahead on threads, each waiting in ``ready`` until
    ``release``; records how many made disks at once and what existed at ``ready``."""

    def __init__(self, provider: Any, guests: list[Resource]) -> None:
        self.provider, self.guests = provider, guests
        self.released = threading.Event()
        self.lock = threading.Lock()
        self.making = self.most_making = 0
        self.defined_at_ready: dict[str, bool] = {}
        create_disk = provider.guests._create_disk

        def counted(*args: Any) -> None:
            with self.lock:
                self.making += 1
                self.most_making = max(self.most_making, self.making)
            time.sleep(0.05)
            create_disk(*args)
            with self.lock:
                self.making -= 1

        provider.guests._create_disk = counted
        self.threads = [threading.Thread(target=self._create, args=(g,)) for g in guests]
        self.errors: list[BaseException] = []

    def _create(self, guest: Resource) -> None:
        def ready() -> None:
            with self.lock:
                self.defined_at_ready[guest.name] = guest.name in self._domains()
            assert self.released.wait(10)
        try:
            self.provider.create_when(guest, ready)
        except BaseException as exc:  # reported by the test
            self.errors.append(exc)

    def _domains(self) -> set[str]:
        return {d.name() for d in self.provider.client.conn.listAllDomains()}

    def all_waiting(self) -> bool:
        deadline = time.monotonic() + 10
        while len(self.defined_at_ready) < len(self.guests) and time.monotonic() < deadline:
            time.sleep(0.01)
        return len(self.defined_at_ready) == len(self.guests)

    def running(self) -> set[str]:
        return {d.name() for d in self.provider.client.conn.listAllDomains()
                if d.isActive() and d.name().startswith("ahead-")}  # not the driver's own


@pytest.fixture
def ahead(tmp_path: Path) -> Iterator[tuple[_Ahead, Callable[[], None]]]:
    stack = load_stack(write_stack(tmp_path, textwrap.dedent(STACK)))
    with Engine(stack, SQLiteStore(tmp_path / "state.db")) as engine:
        provider = engine.providers()["kvm"]
        network = next(r for r in stack.resources if r.address.kind is Kind.NETWORK)
        guests = [r for r in stack.resources if r.address.kind is Kind.GUEST]
        assert {Kind.NETWORK} == provider.create_ahead(guests[0])
        begun = _Ahead(provider, guests)
        yield begun, lambda: provider.create(network)
        begun.released.set()
        for thread in begun.threads:
            thread.join(10)


def test_guests_begun_ahead_make_their_disks_two_at_a_time_and_define_themselves(
        ahead: tuple[_Ahead, Callable[[], None]]) -> None:
    begun, create_network = ahead
    for thread in begun.threads:
        thread.start()
    assert begun.all_waiting(), "not every guest reached its network's wait"
    assert begun.most_making == AHEAD_AT_ONCE == 2
    assert begun.defined_at_ready == {**{f"ahead-node-{i}": True for i in range(5)},
                                      "ahead-fixed": False}  # its reservation needs the network
    assert begun.running() == set(), "a guest started before its network existed"
    create_network()
    begun.released.set()
    for thread in begun.threads:
        thread.join(10)
    assert begun.errors == []
    assert begun.running() == {*(f"ahead-node-{i}" for i in range(5)), "ahead-fixed"}
