"""Snapshots, the pure parts: names, the libvirt snapshot document and disk check,
reading a snapshot back, picking guests, and what list and revert print."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest

from provisioner.cli.snapshot_cmd import describe_revert, format_table
from provisioner.core.address import Address
from provisioner.core.resources import LiveObject
from provisioner.core.snapshots import SnapshotInfo, check_snapshot_name
from provisioner.errors import ProviderError, UsageError
from provisioner.providers.base import Capacity, Inventory, Owner, Provider, ProviderSchema
from provisioner.providers.libvirt.snapshots import parse_snapshot, snapshot_disks, snapshot_xml
from provisioner.render.snapshots import render_snapshots_json
from provisioner.snapshots import Guest, choose


@pytest.mark.parametrize("name", ["a", "before-upgrade", "v1.2_rc3", "0", "x" * 63])
def test_valid_snapshot_names_are_accepted(name: str) -> None:
    assert check_snapshot_name(name) == name


@pytest.mark.parametrize("name", ["", "-a", ".a", "_a", "a b", "a/b", "a<b>", "x" * 64,
                                  "é", "a\n"])
def test_invalid_snapshot_names_are_refused_with_the_rule(name: str) -> None:
    with pytest.raises(UsageError, match="not a valid snapshot name") as caught:
        check_snapshot_name(name)
    assert caught.value.hint is not None and "1 to 63" in caught.value.hint


def test_snapshot_xml_names_disks_and_escapes_the_name() -> None:
    root = ET.fromstring(snapshot_xml("a&<b>", ["vda", "vdb"], ["sda"]))
    assert root.findtext("name") == "a&<b>"  # built by ElementTree, never formatted in
    disks = {d.get("name"): d.get("snapshot") for d in root.findall("disks/disk")}
    assert disks == {"vda": "internal", "vdb": "internal", "sda": "no"}


DOMAIN = """<domain><devices>
  <disk type='volume' device='disk'><driver name='qemu' type='qcow2'/>
    <source pool='default' volume='lab.kvm__web__disk0.qcow2'/><target dev='vda'/></disk>
  <disk type='volume' device='cdrom'><driver name='qemu' type='raw'/>
    <source pool='default' volume='lab.kvm__web__seed.iso'/><target dev='sda'/><readonly/></disk>
  {extra}
</devices></domain>"""


def test_snapshot_disks_takes_qcow2_and_leaves_read_only_out() -> None:
    assert snapshot_disks(ET.fromstring(DOMAIN.format(extra="")), "guests.web") == (
        ["vda"], ["sda"])


def test_a_raw_disk_is_refused_naming_it() -> None:
    raw = ("<disk type='volume' device='disk'><driver name='qemu' type='raw'/>"
           "<source pool='default' volume='lab.kvm__data.raw'/><target dev='vdb'/></disk>")
    with pytest.raises(ProviderError, match=r"disk vdb \(lab.kvm__data.raw\) is raw") as caught:
        snapshot_disks(ET.fromstring(DOMAIN.format(extra=raw)), "guests.web")
    assert "qcow2" in (caught.value.hint or "")


def test_a_snapshot_is_read_back_with_its_time_and_whether_it_holds_memory() -> None:
    running = parse_snapshot("<domainsnapshot><name>s1</name><state>running</state>"
                             "<creationTime>1700000000</creationTime>"
                             "<memory snapshot='internal'/></domainsnapshot>")
    assert running == SnapshotInfo("s1", datetime.fromtimestamp(1700000000, UTC), None, True)
    assert running.power_after_revert == "running"
    stopped = parse_snapshot("<domainsnapshot><name>s2</name><state>shutoff</state>"
                             "<memory snapshot='no'/></domainsnapshot>")
    assert (stopped.memory, stopped.created, stopped.power_after_revert) == (
        False, None, "stopped")


def _guest(name: str, running: bool | None = True) -> Guest:
    address = Address.parse(f"guests.{name}")
    return Guest("kvm", LiveObject(address, "kvm", name, "id-" + name, {}, running=running))


FOUND = {g.address: g for g in (_guest("web-1"), _guest("web-0"), _guest("db"))}


def test_choose_gives_every_guest_in_address_order_without_targets() -> None:
    assert [str(g.address) for g in choose(FOUND, frozenset())] == [
        "guests.db", "guests.web-0", "guests.web-1"]


def test_choose_keeps_only_the_targets() -> None:
    chosen = choose(FOUND, frozenset({Address.parse("guests.web-1")}))
    assert [str(g.address) for g in chosen] == ["guests.web-1"]


def test_choose_refuses_a_target_that_is_not_there_naming_the_guests() -> None:
    with pytest.raises(UsageError, match=r"--target guests\.nope: no such guest") as caught:
        choose(FOUND, frozenset({Address.parse("guests.nope")}))
    assert "guests.db, guests.web-0, guests.web-1" in (caught.value.hint or "")


def test_choose_refuses_a_target_that_is_not_a_guest() -> None:
    with pytest.raises(UsageError, match="guests only"):
        choose(FOUND, frozenset({Address.parse("networks.lab")}))


def test_choose_refuses_a_stack_without_guests() -> None:
    with pytest.raises(UsageError, match="no guest on the hypervisors"):
        choose({}, frozenset())


def test_the_list_table_has_a_line_per_snapshot() -> None:
    taken = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
    text = format_table([("guests.db", SnapshotInfo("s1", taken, 2048, True)),
                         ("guests.web-0", SnapshotInfo("s1", None))])
    header, first, second = text.splitlines()
    assert header.split() == ["GUEST", "NAME", "CREATED", "HOLDS", "SIZE"]
    assert first.startswith("guests.db") and "2026-01-02 03:04:05 UTC" in first
    assert "memory" in first and "memory" not in second and second.rstrip().endswith("-")


def test_the_list_document_has_every_guest_with_its_snapshots_in_utc() -> None:
    paris = timezone(timedelta(hours=1))
    document = json.loads(render_snapshots_json([
        ("guests.db", [SnapshotInfo("s1", datetime(2026, 1, 2, 4, 4, 5, tzinfo=paris),
                                    5 * 1024**4, True)], None),
        ("guests.web-0", [SnapshotInfo("s1", None)], None),
        ("guests.web-1", [], "guests.web-1: the VM is gone")]))
    assert document == {"format_version": "1", "guests": [
        {"address": "guests.db", "error": None, "snapshots": [
            {"name": "s1", "created": "2026-01-02T03:04:05Z", "size": 5 * 1024**4,
             "memory": True, "power_after_revert": "running"}]},
        {"address": "guests.web-0", "error": None, "snapshots": [
            {"name": "s1", "created": None, "size": None, "memory": False,
             "power_after_revert": "stopped"}]},
        {"address": "guests.web-1", "error": "guests.web-1: the VM is gone", "snapshots": []},
    ]}


def test_revert_says_each_guests_power_before_and_after() -> None:
    text = describe_revert("s1", [(_guest("db", running=False), SnapshotInfo("s1", None, None,
                                                                            True)),
                                  (_guest("web-0"), SnapshotInfo("s1", None))])
    assert "2 guest(s) go back to snapshot s1" in text
    assert "guests.db" in text and "stopped -> running" in text
    assert "guests.web-0" in text and "running -> stopped" in text


class _Bare(Provider):
    type_name = "bare"

    def schema(self) -> ProviderSchema:
        return ProviderSchema(kinds={})

    def list_managed(self) -> Inventory:
        return Inventory(managed=[])

    def capacity(self) -> Capacity:
        return Capacity(hosts=[], pools=[])

    def create(self, resource: Any) -> LiveObject:
        raise NotImplementedError

    def update(self, resource: Any, live: LiveObject, changed: Any) -> LiveObject:
        raise NotImplementedError

    def delete(self, live: LiveObject) -> None:
        raise NotImplementedError


@pytest.mark.parametrize("call", ["snapshots", "snapshot_create", "snapshot_revert",
                                  "snapshot_delete"])
def test_a_provider_without_snapshots_refuses_clearly(call: str) -> None:
    provider = _Bare("p", None, Owner("lab"))  # type: ignore[arg-type]
    live = _guest("web-0").live
    args = (live,) if call == "snapshots" else (live, "s1")
    with pytest.raises(ProviderError, match="the bare provider cannot take snapshots yet"):
        getattr(provider, call)(*args)


def test_qemu_img_snapshots_are_read_oldest_first() -> None:
    from provisioner.providers.qemu.snapshots import parse_snapshots

    info = {"format": "qcow2", "snapshots": [
        {"id": "2", "name": "late", "vm-state-size": 0, "date-sec": 1700000100, "date-nsec": 0},
        {"id": "1", "name": "early", "vm-state-size": 4096, "date-sec": 1700000000},
    ]}
    early, late = parse_snapshots(info)
    assert (early.name, early.memory, early.created) == (
        "early", True, datetime.fromtimestamp(1700000000, UTC))
    assert (late.name, late.memory) == ("late", False)
    assert parse_snapshots({"format": "qcow2"}) == []


def test_libvirts_refusals_are_translated_once_with_a_hint() -> None:
    from provisioner.providers.libvirt.snapshots import _refused, _revert_refused

    uefi = _refused(ProviderError("guests.web: operation unsupported: internal snapshots of "
                                  "a VM with pflash based firmware are not supported"),
                    "guests.web")
    assert uefi.message.startswith("guests.web: cannot take a snapshot: operation unsupported")
    assert "UEFI" in (uefi.hint or "")
    forced = _revert_refused(ProviderError("guests.web: revert requires force: Target domain "
                                           "max memory does not match source"), "guests.web")
    assert forced.message == ("guests.web: cannot revert: revert requires force: Target domain "
                              "max memory does not match source")
    assert "stop the guest" in (forced.hint or "")
