"""What a libvirt plan reads, on libvirt's in-process test driver: one stored
definition per guest, bulk statistics, and sizes for what the statistics did
not size (this driver reports only the state, so every volume gets one read).
The same on the real daemon, where the statistics size running guests' disks:
tests/e2e/test_plan_reads.py."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import libvirt
import pytest
from support.libvirt_node import node_uri, write_stack

from provisioner.apply.progress import CollectingProgress as Recorder
from provisioner.engine import Engine
from provisioner.plan.model import Action
from provisioner.providers.base import CallKind
from provisioner.stack.loader import load_stack
from provisioner.state.local import SQLiteStore

pytestmark = pytest.mark.simulator_only(
    "runs on libvirt's test driver, on hosts the test writes (their CPUs, memory and pools), "
    "and counts its calls")

GUESTS = 3
STACK = f"""apiVersion: provisioner/v1
stack: reads
providers:
  kvm: {{ type: libvirt, uri: "URI", pool: default }}
guests:
  web:
    provider: kvm
    count: {GUESTS}
    cpus: 1
    memory: 128MiB
    disks: [ {{ size: 1GiB }} ]
    options: {{ max_cpus: 2 }}
"""


@pytest.fixture
def engine(tmp_path: Path) -> Iterator[Engine]:
    stack_file = write_stack(tmp_path, STACK.replace("URI", node_uri(tmp_path)))
    with Engine(load_stack(stack_file), SQLiteStore(tmp_path / "state.db")) as engine:
        result = engine.apply(engine.plan(), Recorder())
        assert result.ok, [r.message for r in result.results]
        yield engine


def _recorded(provider: Any) -> list[tuple[CallKind, str, Callable[..., Any], tuple[Any, ...]]]:
    """Every call the provider's client makes from now on."""
    calls: list[tuple[CallKind, str, Callable[..., Any], tuple[Any, ...]]] = []
    call = provider.client.call

    def recording(kind: CallKind, what: str, fn: Callable[..., Any], *args: Any,
                  **kwargs: Any) -> Any:
        calls.append((kind, what, fn, args))
        return call(kind, what, fn, *args, **kwargs)

    provider.client.call = recording
    return calls


def test_a_plan_reads_one_stored_definition_per_guest_and_no_running_xml(
        engine: Engine) -> None:
    provider = engine.providers()["kvm"]
    calls = _recorded(provider)
    provider.list_managed()
    domain_reads = Counter(what for kind, what, fn, _ in calls
                           if kind is CallKind.READ and getattr(fn, "__name__", "") == "XMLDesc"
                           and what.startswith("web-"))
    assert domain_reads == {f"web-{i}": 1 for i in range(GUESTS)}
    flags = {args for _, what, fn, args in calls if what.startswith("web-")}
    assert flags == {(libvirt.VIR_DOMAIN_XML_INACTIVE,)}, "a running XML was read"
    assert [what for kind, what, _, _ in calls if kind is CallKind.LIST].count(
        "domain statistics") == 1
    volume_reads = [what for kind, what, _, _ in calls
                    if kind is CallKind.READ and what.startswith("volume ")]
    assert len(volume_reads) == GUESTS  # the test driver sizes no disk in bulk


def test_reads_per_guest_stay_one_definition_and_one_disk_size(engine: Engine) -> None:
    provider = engine.providers()["kvm"]
    before = dict(provider.stats.calls)
    provider.list_managed()
    reads = provider.stats.calls[CallKind.READ] - before.get(CallKind.READ, 0)
    assert reads == 2 * GUESTS  # a definition and a disk size each; no network here


def test_a_vcpu_change_made_to_the_stored_definition_only_shows(engine: Engine) -> None:
    conn = engine.providers()["kvm"].client.conn  # type: ignore[attr-defined]
    domain = conn.lookupByName("web-1")
    assert domain.isActive()
    domain.setVcpusFlags(2, libvirt.VIR_DOMAIN_AFFECT_CONFIG)
    plan = engine.plan()
    changed = {str(c.address): c for c in plan.changes if c.action.is_change}
    assert list(changed) == ["guests.web-1"]
    change = changed["guests.web-1"]
    assert change.action is Action.UPDATE
    assert [(f.path, f.before, f.after) for f in change.fields] == [("cpus", 2, 1)]


def _statistics_reads(calls: list[tuple[CallKind, str, Callable[..., Any], tuple[Any, ...]]]
                      ) -> list[str]:
    return [what for kind, what, fn, _ in calls
            if getattr(fn, "__name__", "") == "domainListGetStats"]


def test_a_guest_just_started_is_read_back_without_statistics(tmp_path: Path) -> None:
    """After a create the running guest is its definition: its statistics (a QEMU query
    per group on a real host) are left to the next plan; after an update they are
    read, a live change may differ from the definition."""
    stack_file = write_stack(tmp_path, STACK.replace("URI", node_uri(tmp_path)))
    with Engine(load_stack(stack_file), SQLiteStore(tmp_path / "state.db")) as engine:
        provider = engine.providers()["kvm"]
        calls = _recorded(provider)
        plan = engine.plan()
        result = engine.apply(plan, Recorder())
        assert result.ok and len(result.results) == GUESTS
        assert [what for kind, what, fn, _ in calls if what.startswith("guests.web-")
                and getattr(fn, "__name__", "") == "XMLDesc"], "no read-back happened"
        assert _statistics_reads(calls) == []
        desired = next(c.desired for c in plan.changes if str(c.address) == "guests.web-0")
        assert desired is not None
        live = {str(o.address): o for o in provider.list_managed().managed}["guests.web-0"]
        calls.clear()
        updated = provider.update(replace(desired, spec={**desired.spec, "cpus": 2}), live,
                                  ["cpus"])
        assert updated.spec["cpus"] == 2
        assert _statistics_reads(calls) == ["domain statistics"]
