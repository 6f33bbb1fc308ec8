"""The XenServer provider's pure parts: reading records, rules, checks, capacity, errors.

Records here are shaped as XAPI sends them (integers as strings, references as
``OpaqueRef:`` strings); the provider's calls are tested against the XAPI
simulator in tests/integration/xenserver.
"""

from __future__ import annotations

import xmlrpc.client
from datetime import UTC, datetime
from typing import Any

import pytest

from provisioner.core.address import Address, Kind
from provisioner.core.resources import Effect, LiveObject, Resource
from provisioner.core.specs import GuestSpec
from provisioner.errors import ObjectNotFoundError, ProviderError, TransientProviderError
from provisioner.providers.xenserver import GuestOptions
from provisioner.providers.xenserver.capacity import capacity, requirements
from provisioner.providers.xenserver.checks import guest_problems
from provisioner.providers.xenserver.client import XapiClient, call_kind, decode_result
from provisioner.providers.xenserver.facts import Pool
from provisioner.providers.xenserver.faults import failure_error
from provisioner.providers.xenserver.ownership import (
    OWNER_KEY,
    Ownership,
    creating_marker,
    encode,
    marker_of,
)
from provisioner.providers.xenserver.read import DRIVE_KEY, live_object
from provisioner.providers.xenserver.schema import GUEST_SCHEMA, needs_halt
from provisioner.providers.xenserver.settings import memory_limits
from provisioner.providers.xenserver.snapshots import snapshot_time

pytestmark = pytest.mark.unit
GIB = 1024**3
MIB = 1024**2
OWN = Ownership("lab", "xcp")
WEB = Address(Kind.GUEST, "web")


def _pool(**extra: dict[str, dict[str, Any]]) -> Pool:
    """A pool of two hosts, a local and a shared SR, a network, a template with a disk,
    a control domain, and guest ``web`` (ours) with two disks, a config drive, two NICs."""
    owner = encode(OWN.marker(WEB, {"clone": "debian-12"}))
    drive = encode(OWN.marker(WEB, {DRIVE_KEY: {"user_data": {
        "label": "web.yaml", "digest": "sha256:" + "a" * 64}}}))
    records: dict[str, dict[str, dict[str, Any]]] = {
        "host": {"H1": {"name_label": "xcp1", "metrics": "HM1", "cpu_info": {"cpu_count": "16"}},
                 "H2": {"name_label": "xcp2", "metrics": "HM2", "cpu_info": {"cpu_count": "8"}}},
        "host_metrics": {"HM1": {"memory_total": str(32 * GIB), "memory_free": str(20 * GIB)},
                         "HM2": {"memory_total": str(16 * GIB), "memory_free": str(15 * GIB)}},
        "SR": {"S1": {"name_label": "Local storage", "PBDs": ["P1"], "shared": False,
                      "type": "lvm", "physical_size": str(100 * GIB),
                      "physical_utilisation": str(30 * GIB), "content_type": "user"},
               "S2": {"name_label": "NFS", "PBDs": [], "shared": True, "type": "nfs",
                      "physical_size": str(500 * GIB), "physical_utilisation": "0",
                      "content_type": "user"},
               "S3": {"name_label": "ISOs", "content_type": "iso", "physical_size": "1"}},
        "PBD": {"P1": {"host": "H1", "SR": "S1"}},
        "SM": {"M1": {"type": "nfs", "features": {"VDI_RESIZE_ONLINE": "1"}},
               "M2": {"type": "lvm", "features": {}}},
        "network": {"N1": {"name_label": "Pool-wide network associated with eth0",
                           "bridge": "xenbr0"}},
        "pool": {"PO": {"default_SR": "S2"}},
        "VM": {
            "T1": {"name_label": "debian-12", "is_a_template": True, "VBDs": ["TB1"],
                   "VIFs": []},
            "D0": {"name_label": "Control domain on host: xcp1", "is_control_domain": True,
                   "power_state": "Running", "resident_on": "H1", "VCPUs_at_startup": "4",
                   "memory_dynamic_max": str(2 * GIB)},
            "V1": {"name_label": "web", "power_state": "Running", "resident_on": "H1",
                   "affinity": "H1", "VCPUs_at_startup": "2", "VCPUs_max": "4",
                   "memory_static_min": str(512 * MIB), "memory_static_max": str(4 * GIB),
                   "memory_dynamic_min": str(GIB), "memory_dynamic_max": str(2 * GIB),
                   "VBDs": ["B2", "B1", "B3"], "VIFs": ["F2", "F1"],
                   "other_config": {OWNER_KEY: owner, "auto_poweron": "true"},
                   "tags": ["provisioner:lab", "web"], "platform": {"viridian": "false"},
                   "HVM_boot_params": {"order": "cd"}, "xenstore_data": {"vm-data/a": "1"},
                   "name_description": "front"},
        },
        "VBD": {"TB1": {"type": "Disk", "userdevice": "0", "VDI": "TD1"},
                "B1": {"type": "Disk", "userdevice": "0", "VDI": "D1"},
                "B2": {"type": "Disk", "userdevice": "1", "VDI": "D2"},
                "B3": {"type": "Disk", "userdevice": "2", "VDI": "D3"}},
        "VDI": {"TD1": {"SR": "S2", "virtual_size": str(10 * GIB)},
                "D1": {"SR": "S2", "virtual_size": str(20 * GIB), "VBDs": ["B1"]},
                "D2": {"SR": "S1", "virtual_size": str(5 * GIB), "VBDs": ["B2"]},
                "D3": {"SR": "S2", "virtual_size": str(MIB), "VBDs": ["B3"],
                       "other_config": {OWNER_KEY: drive}},
                "LOOSE": {"SR": "S1", "virtual_size": str(GIB), "VBDs": [],
                          "other_config": {OWNER_KEY: OWN.disk_marker(WEB, 3)}}},
        "VIF": {"F1": {"device": "0", "network": "N1", "MAC": "AA:BB:CC:00:00:01"},
                "F2": {"device": "1", "network": "N1", "MAC": "aa:bb:cc:00:00:02"}},
    }
    for cls, objects in extra.items():
        records.setdefault(cls, {}).update(objects)
    return Pool(records)


def _live(pool: Pool) -> LiveObject:
    vm = pool.of("VM")["V1"]
    marker = marker_of(vm)
    assert marker is not None
    return live_object("V1", vm, marker, pool, "xcp")


def _resource(**spec: Any) -> Resource:
    base: dict[str, Any] = {"cpus": 2, "memory": 2 * GIB, "power": "running"}
    return Resource(WEB, "xcp", {**base, **spec})


def test_a_vm_reads_back_normalized() -> None:
    live = _live(_pool())
    spec = live.spec
    assert (spec["cpus"], spec["memory"], spec["node"], spec["clone"]) == (2, 2 * GIB, "xcp1",
                                                                           "debian-12")
    assert [(d["size"], d["pool"], d["slot"]) for d in spec["disks"]] == [
        (20 * GIB, "NFS", None), (5 * GIB, "Local storage", None)]  # drive left out, in order
    assert [n["mac"] for n in spec["networks"]] == ["aa:bb:cc:00:00:01", "aa:bb:cc:00:00:02"]
    assert spec["networks"][0]["host_network"] == "Pool-wide network associated with eth0"
    assert spec["cloud_init"]["user_data"].digest == "sha256:" + "a" * 64
    assert spec["cloud_init"]["meta_data"] is None
    assert spec["autostart"] is True and spec["power"] == "running"
    options = spec["options"]
    assert (options["cpus_max"], options["memory_max"], options["memory_min"]) == (
        4, 4 * GIB, GIB)
    assert options["tags"] == ["web"]  # the stack's own tag is not the user's
    assert live.attributes["online_resize"] == [True, False]


def test_memory_within_the_static_maximum_changes_live() -> None:
    live = _live(_pool())
    assert GUEST_SCHEMA.refine is not None
    assert GUEST_SCHEMA.refine("memory", 2 * GIB, 3 * GIB, live) is Effect.IN_PLACE
    assert GUEST_SCHEMA.refine("memory", 2 * GIB, 5 * GIB, live) is None  # the rule: restart
    assert GUEST_SCHEMA.rule_for("memory").effect is Effect.RESTART
    assert not needs_halt(["memory"], live, {**live.spec, "memory": 3 * GIB})
    assert needs_halt(["memory"], live, {**live.spec, "memory": 5 * GIB})


def test_a_disk_grows_live_only_where_its_sr_can() -> None:
    live = _live(_pool())
    assert GUEST_SCHEMA.refine is not None
    assert GUEST_SCHEMA.refine("disks[0].size", 20 * GIB, 30 * GIB, live) is None  # NFS: yes
    assert GUEST_SCHEMA.refine("disks[1].size", 5 * GIB, 6 * GIB, live) is Effect.RESTART
    assert needs_halt(["cpus"], live, {**live.spec, "cpus": 3})
    assert not needs_halt(["options.description"], live, live.spec)


def test_leftovers_and_creating_markers() -> None:
    name = OWN.creating_name(WEB)
    marker = creating_marker({"name_label": name})
    assert marker is not None and OWN.owns_at(marker, WEB)
    assert creating_marker({"name_label": "web"}) is None
    assert creating_marker({"other_config": {"provisioner:creating": encode(OWN.marker(WEB))},
                            "name_label": "web"}) is not None


def test_plan_checks_name_what_exists() -> None:
    pool = _pool()
    problems = guest_problems(_resource(clone="debian-11", node="xcp3", networks=[
        {"host_network": "eth0 network", "vlan": 5}, {"network": "lab"}],
        disks=[{"size": 5 * GIB}, {"size": GIB, "pool": "Local storag"}],
        options={"memory_max": GIB, "cpus_max": 1}), pool)
    found = {(problem.path, problem.summary, problem.hint) for problem in problems}
    paths = {path for path, _s, _h in found}
    assert paths == {"clone", "node", "networks[0].host_network", "networks[0].vlan",
                     "networks[1].network", "disks[1].pool", "options.memory_max",
                     "options.cpus_max"}
    assert ("clone", "'debian-11': no such template in the pool",
            "did you mean 'debian-12'?") in found
    assert any(hint == "did you mean 'Local storage'?" for _p, _s, hint in found)
    local = guest_problems(_resource(node="xcp2", disks=[
        {"size": GIB, "pool": "Local storage"}, {"size": GIB, "pool": "ISOs"}]), pool)
    assert [(p.path, p.summary) for p in local] == [
        ("disks[0].pool", "'Local storage' is local to host xcp1, but the guest runs on xcp2 "
                          "(node)"),
        ("disks[1].pool", "'ISOs' is an ISO library, which holds no disks")]
    small = guest_problems(_resource(clone="debian-12", disks=[{"size": 5 * GIB}]), pool)
    assert [p.path for p in small] == ["disks[0].size"]
    assert "10GiB" in small[0].summary or "10.0GiB" in small[0].summary


def test_capacity_counts_every_resident_vm_and_locates_local_srs() -> None:
    found = capacity(_pool())
    hosts = {host.node: host for host in found.hosts}
    assert hosts["xcp1"].memory_total == 32 * GIB and hosts["xcp1"].cpus == 16
    assert hosts["xcp1"].running_memory == 4 * GIB  # control domain + web
    assert hosts["xcp1"].running_cpus == 6
    assert hosts["xcp2"].running_memory == 0
    pools = {sr.pool: sr for sr in found.pools}
    assert set(pools) == {"Local storage", "NFS"}  # the ISO library holds no disks
    assert pools["Local storage"].node == "xcp1" and pools["NFS"].node is None
    assert pools["Local storage"].available == 70 * GIB


def test_requirements_count_template_disks_at_their_size() -> None:
    need = requirements(_pool(), "NFS", GuestSpec.of(_resource(
        clone="debian-12", node="xcp2", disks=[{}, {"size": GIB, "pool": "Local storage"}]).spec))
    assert need.node == "xcp2" and need.memory == 2 * GIB
    assert dict(need.storage) == {"NFS": 10 * GIB, "Local storage": GIB}


def test_memory_limits_keep_xapi_order() -> None:
    guest = GuestSpec.of({"memory": 2 * GIB})
    assert memory_limits(guest, GuestOptions(), GIB) == (GIB, 2 * GIB, 2 * GIB, 2 * GIB)
    assert memory_limits(guest, GuestOptions(), 4 * GIB) == (2 * GIB,) * 4
    ballooned = GuestOptions.model_validate({"memory_min": "1GiB", "memory_max": "8GiB"})
    assert memory_limits(guest, ballooned, 512 * MIB) == (512 * MIB, 8 * GIB, GIB, 2 * GIB)


def test_xapi_errors_are_translated_once() -> None:
    busy = failure_error(["OTHER_OPERATION_IN_PROGRESS", "VM", "OpaqueRef:1"], "guest web")
    assert isinstance(busy, TransientProviderError)
    gone = failure_error(["HANDLE_INVALID", "VM", "OpaqueRef:9"], "guest web: VM.start")
    assert isinstance(gone, ObjectNotFoundError)
    state = failure_error(["VM_BAD_POWER_STATE", "OpaqueRef:2", "halted", "running"],
                          "guest web: VM.start")
    assert type(state) is ProviderError
    assert str(state).startswith("guest web: VM.start: XAPI refused: VM_BAD_POWER_STATE")
    assert "(halted, running)" in str(state) and "OpaqueRef" not in str(state)


def test_task_results_and_call_kinds() -> None:
    assert decode_result("<value>OpaqueRef:abc</value>") == "OpaqueRef:abc"
    assert decode_result("") is None
    assert decode_result("<value><string>x</string></value>") == "x"
    assert call_kind("VM.get_all_records") == "list"
    assert call_kind("VM.get_record") == "read"
    assert call_kind("Async.VM.clone") == "write"


@pytest.mark.parametrize(("url", "master", "expected"), [
    ("https://xcp2.lab", "10.0.0.1", "https://10.0.0.1"),
    ("https://127.0.0.1:8443", "127.0.0.1:9443", "https://127.0.0.1:9443"),
    ("https://127.0.0.1:8443", "10.0.0.1", "https://10.0.0.1:8443"),
])
def test_a_member_names_the_master_it_follows(url: str, master: str, expected: str) -> None:
    from provisioner.providers.base import ProviderStats
    from provisioner.providers.xenserver import XenServerConfig

    client = XapiClient(XenServerConfig.model_validate(
        {"url": url, "username": "root", "password": "x"}), ProviderStats())
    client._follow_master(url, master)
    assert client.url == expected


def test_snapshot_times_are_read_in_utc_and_the_epoch_means_unknown() -> None:
    taken = datetime(2024, 5, 1, 10, 0, 0, tzinfo=UTC)
    assert snapshot_time(xmlrpc.client.DateTime("20240501T10:00:00Z")) == taken
    assert snapshot_time("20240501T10:00:00Z") == taken
    assert snapshot_time(xmlrpc.client.DateTime("19700101T00:00:00Z")) is None  # never
    assert snapshot_time("") is None and snapshot_time(None) is None
