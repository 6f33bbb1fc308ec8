"""A connection to libvirtd that drops (daemon restarted, socket cut) in the middle of
a plan or an apply, on the real daemon: a relay in front of its socket
(tests/support/libvirt_proxy.py) cuts every connection at a chosen call.

A plan reads again whole on a new connection; an apply's steps after the cut run on
new connections, the step that was in flight fails naming the lost connection, and
the next apply finishes it: no orphan, no duplicate."""

from __future__ import annotations

import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from support.e2e import E2EStack, changes
from support.libvirt_proxy import LibvirtRelay

from provisioner.apply.executor import Outcome
from provisioner.apply.progress import CollectingProgress
from provisioner.plan.model import Action
from provisioner.providers.base import CallKind

pytestmark = pytest.mark.simulator_only(
    "cuts the connection with a relay in front of this machine's libvirtd socket")

STACK = """
networks:
  cl-net: { provider: kvm, mode: nat, cidr: 10.87.4.0/24 }
guests:
  cl:
    provider: kvm
    count: 4
    memory: 128MiB
    disks: [ { size: 32MiB } ]
    networks: [ { network: cl-net } ]
    options: { BOOT_OPTIONS }
"""


@pytest.fixture
def relay() -> Iterator[LibvirtRelay]:
    # (AF_UNIX paths are short: not under pytest's tmp_path)
    with tempfile.TemporaryDirectory(prefix="lvr") as short, LibvirtRelay(Path(short)) as running:
        yield running


def _cut_at(provider: Any, relay: LibvirtRelay,
            when: Callable[[CallKind, str], bool]) -> list[str]:
    """Make ``relay`` cut every connection just before the first call ``when`` picks;
    returns the list that names that call once it happened."""
    call = provider.client.call
    cut: list[str] = []

    def cutting(kind: CallKind, what: str, fn: Callable[..., Any], *args: Any,
                **kwargs: Any) -> Any:
        if not cut and when(kind, what):
            cut.append(f"{kind} {what}")
            relay.cut()
        return call(kind, what, fn, *args, **kwargs)

    provider.client.call = cutting
    return cut


def test_a_plan_whose_connection_drops_reads_again_and_plans_no_change(
        new_stack: Callable[..., E2EStack], relay: LibvirtRelay) -> None:
    stack = new_stack()
    stack.uri = relay.uri
    stack.write(STACK)
    stack.apply()
    with stack.engine() as engine:
        provider = engine.providers()["kvm"]
        cut = _cut_at(provider, relay, lambda kind, what: kind is CallKind.READ)
        plan = engine.plan()
        connects = provider.stats.calls.get(CallKind.CONNECT, 0)
    assert cut, "the plan made no read through the relay"
    assert {change.action for change in plan.changes} == {Action.NOOP}, changes(plan)
    assert connects == 2  # the first connection, and the one after the cut
    stack.destroy()


def test_an_apply_cut_mid_way_finishes_the_other_steps_and_the_next_run_the_rest(
        new_stack: Callable[..., E2EStack], relay: LibvirtRelay, conn: Any) -> None:
    stack = new_stack()
    stack.uri = relay.uri
    stack.write(STACK)
    with stack.engine() as engine:
        plan = engine.plan()
        cut = _cut_at(engine.providers()["kvm"], relay,
                      lambda kind, what: kind is CallKind.WRITE and what == "guests.cl-1")
        result = engine.apply(plan, CollectingProgress(), parallelism=1)
    assert cut, "no write of guests.cl-1 went through the relay"
    failed = {str(r.step.address): r.message for r in result.results
              if r.outcome is Outcome.FAILED}
    done = {str(r.step.address) for r in result.results if r.outcome is Outcome.DONE}
    assert set(failed) == {"guests.cl-1"}, failed
    assert "connection to libvirt" in failed["guests.cl-1"] and "lost" in failed["guests.cl-1"]
    assert done == {"networks.cl-net", "guests.cl-0", "guests.cl-2", "guests.cl-3"}

    stack.apply()  # settles the interrupted step, then makes what is missing
    names = sorted(d.name() for d in conn.listAllDomains() if d.name().startswith("cl-"))
    assert names == ["cl-0", "cl-1", "cl-2", "cl-3"]
    assert {change.action for change in stack.plan().changes} == {Action.NOOP}
    stack.destroy()
