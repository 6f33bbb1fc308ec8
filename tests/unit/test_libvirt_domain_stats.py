"""A running guest's statistics against its stored definition (no daemon): which
values the plan sees, when the running XML is needed, and disk sizes in bulk."""

from __future__ import annotations

import xml.etree.ElementTree as ET

from provisioner.providers.libvirt.domain_stats import (
    devices_differ,
    disk_capacities,
    live_limits,
    pending,
    running_values,
)

STORED = ET.fromstring("""<domain><devices>
  <disk type='volume' device='disk'><target dev='vda' bus='virtio'/></disk>
  <disk type='volume' device='disk'><target dev='vdb' bus='virtio'/></disk>
  <interface type='network'><source network='lab'/></interface>
</devices></domain>""")
QEMU_STATS = {"state.state": 1, "vcpu.current": 2, "vcpu.maximum": 4,
              "balloon.current": 262144, "balloon.maximum": 524288, "net.count": 1,
              "block.count": 2, "block.0.name": "vda", "block.1.name": "vdb",
              "block.0.path": "/var/lib/libvirt/images/s.kvm__web__disk0.qcow2",
              "block.0.capacity": 2 * 1024**3,
              "block.1.path": "/var/lib/libvirt/images/s.kvm__web__seed.iso"}
TEST_DRIVER_STATS = {"state.state": 1, "state.reason": 0}


def _spec(cpus: int, memory: int = 256) -> dict[str, object]:
    return {"cpus": cpus, "memory": memory, "disks": [], "networks": []}


def test_a_vcpu_change_made_live_only_is_what_the_plan_sees() -> None:
    stored = _spec(1)
    running = running_values(QEMU_STATS, stored)
    assert pending(stored, running, applied=_spec(1)) == {"cpus": 2}


def test_a_vcpu_change_made_to_the_definition_only_is_what_the_plan_sees() -> None:
    stored = _spec(3)
    running = running_values(QEMU_STATS, stored)  # still 2 online, as last applied
    assert pending(stored, running, applied=_spec(2)) == {}  # the stored 3 stays


def test_when_both_departed_the_definition_wins() -> None:
    stored = _spec(3)
    assert pending(stored, running_values(QEMU_STATS, stored), applied=_spec(1)) == {}


def test_memory_always_comes_from_the_definition() -> None:
    assert pending(_spec(1, 256), _spec(1, 128), applied=_spec(1, 256)) == {}


def test_an_undeclared_value_is_never_taken_from_the_running_guest() -> None:
    assert pending(_spec(1), _spec(2), applied={}) == {}


def test_a_driver_without_vcpu_statistics_leaves_the_definition_as_it_is() -> None:
    stored = _spec(1)
    assert running_values(TEST_DRIVER_STATS, stored) == stored
    assert live_limits(TEST_DRIVER_STATS) == {}
    assert not devices_differ(TEST_DRIVER_STATS, STORED)


def test_live_limits_are_the_running_maxima_in_bytes() -> None:
    assert live_limits(QEMU_STATS) == {"max_cpus": 4, "max_memory": 512 * 1024**2}


def test_same_disks_and_nic_count_need_no_running_xml() -> None:
    assert not devices_differ(QEMU_STATS, STORED)


def test_a_nic_detached_live_needs_the_running_xml() -> None:
    assert devices_differ({**QEMU_STATS, "net.count": 0}, STORED)


def test_a_disk_attached_live_needs_the_running_xml() -> None:
    attached = {**QEMU_STATS, "block.count": 3, "block.2.name": "vdc"}
    assert devices_differ(attached, STORED)


def test_disk_sizes_come_only_from_disks_the_statistics_sized() -> None:
    assert disk_capacities({"web": QEMU_STATS, "other": TEST_DRIVER_STATS}) == {
        "/var/lib/libvirt/images/s.kvm__web__disk0.qcow2": 2 * 1024**3}
