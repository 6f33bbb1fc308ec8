"""What a plan reads on the real daemon: one stored definition per guest, the
running guests' statistics in one call (vCPUs online, disks with their sizes,
NIC count), and a size read only for disks no running guest has open."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import libvirt
from support.e2e import E2EStack, changes, describe

from provisioner.core.resources import Effect
from provisioner.plan.model import Action
from provisioner.providers.base import CallKind

MiB = 1024 * 1024
STACK = """
volumes:
  pr-data: { provider: kvm, size: 48MiB, format: raw }
guests:
  pr-a:
    provider: kvm
    cpus: 1
    memory: 128MiB
    disks: [ { size: 64MiB }, { volume: pr-data } ]
    options: { BOOT_OPTIONS, max_cpus: 2 }
  pr-b:
    provider: kvm
    cpus: 1
    memory: 128MiB
    disks: [ { size: 96MiB } ]
    options: { BOOT_OPTIONS, max_cpus: 2 }
  pr-off:
    provider: kvm
    memory: 128MiB
    power: stopped
    disks: [ { size: 32MiB } ]
    options: { BOOT_OPTIONS }
"""


Call = tuple[CallKind, str, str, tuple[Any, ...]]
"""kind, object, function name, arguments"""


def _calls_of_one_listing(stack: E2EStack) -> tuple[list[Call], dict[str, Any]]:
    """Every call one bulk read makes, and what it listed."""
    calls: list[Call] = []
    with stack.engine() as engine:
        provider = engine.providers()["kvm"]
        call = provider.client.call  # type: ignore[attr-defined]

        def recording(kind: CallKind, what: str, fn: Callable[..., Any], *args: Any,
                      **kwargs: Any) -> Any:
            calls.append((kind, what, getattr(fn, "__name__", ""), args))
            return call(kind, what, fn, *args, **kwargs)

        provider.client.call = recording  # type: ignore[attr-defined]
        listed = {str(o.address): o for o in provider.list_managed().managed}
    return calls, listed


def test_a_plan_reads_definitions_and_sizes_running_disks_in_bulk(
        new_stack: Callable[..., E2EStack], conn: Any) -> None:
    stack = new_stack()
    stack.write(STACK)
    stack.apply()
    calls, listed = _calls_of_one_listing(stack)

    domain_reads = [(what, args) for kind, what, fn, args in calls
                    if kind is CallKind.READ and fn == "XMLDesc" and what.startswith("pr-")]
    assert sorted(domain_reads) == [(name, (libvirt.VIR_DOMAIN_XML_INACTIVE,))
                                    for name in ("pr-a", "pr-b", "pr-off")], calls
    assert [what for kind, what, _, _ in calls if kind is CallKind.LIST].count(
        "domain statistics") == 1
    sized = [what for kind, what, fn, _ in calls if kind is CallKind.READ and fn == "info"]
    assert sized == [f"volume {stack.name}.kvm__pr-off__disk0.qcow2"], \
        "only the stopped guest's disk needs a size read"

    pool = conn.storagePoolLookupByName("default")
    for address, index, volume in (("guests.pr-a", 0, "pr-a__disk0.qcow2"),
                                   ("guests.pr-b", 0, "pr-b__disk0.qcow2"),
                                   ("guests.pr-off", 0, "pr-off__disk0.qcow2")):
        real = pool.storageVolLookupByName(f"{stack.name}.kvm__{volume}").info()[1]
        assert listed[address].spec["disks"][index]["size"] == real, address
    assert listed["guests.pr-b"].spec["disks"][0]["size"] == 96 * MiB
    data = pool.storageVolLookupByName(f"{stack.name}.kvm__pr-data.img").info()[1]
    assert listed["volumes.pr-data"].spec["size"] == data == 48 * MiB
    assert listed["guests.pr-a"].attributes["max_cpus"] == 2
    assert not stack.plan().has_changes
    stack.destroy()


def test_vcpus_changed_live_only_or_in_the_definition_only_both_show(
        new_stack: Callable[..., E2EStack], conn: Any) -> None:
    stack = new_stack()
    stack.write(STACK)
    stack.apply()
    conn.lookupByName("pr-a").setVcpusFlags(2, libvirt.VIR_DOMAIN_AFFECT_LIVE)
    conn.lookupByName("pr-b").setVcpusFlags(2, libvirt.VIR_DOMAIN_AFFECT_CONFIG)
    assert conn.lookupByName("pr-a").vcpusFlags(libvirt.VIR_DOMAIN_AFFECT_CONFIG) == 1

    plan = stack.plan()
    pending = changes(plan)
    assert sorted(pending) == ["guests.pr-a", "guests.pr-b"], describe(plan)
    for address in ("guests.pr-a", "guests.pr-b"):
        change = pending[address]
        assert change.action is Action.UPDATE, describe(plan)
        # fewer vCPUs on a running guest: QEMU cannot unplug them live (86c5e1b)
        assert [(f.path, f.before, f.after, f.effect) for f in change.fields] == [
            ("cpus", 2, 1, Effect.RESTART)], describe(plan)
    stack.destroy()
