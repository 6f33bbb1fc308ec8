"""The XAPI simulator's snapshots: VM.snapshot, VM.checkpoint, VM.revert and what they
refuse, against the rules of xapi_vm_lifecycle.ml and the model's error names."""

from __future__ import annotations

from typing import Any

import pytest
from support.xapi import GiB, XapiSimulator
from test_xapi_simulator import NULL, api, failure, new_vm, one, wait_task, xapi_sim

pytestmark = pytest.mark.integration
__all__ = ["api", "xapi_sim"]  # fixtures, shared with the simulator's own tests


def disk_of(api: Any, vm: str) -> str:
    return str(api.VBD.get_VDI(api.VM.get_VBDs(vm)[0]))


def test_snapshot_copies_the_vm_and_its_disks(xapi_sim: XapiSimulator, api: Any) -> None:
    vm = new_vm(api)
    api.VM.add_to_other_config(vm, "provisioner:owner", "marker")
    net0 = one(api, "network", "Pool-wide network associated with eth0")
    api.VIF.create({"VM": vm, "network": net0, "device": "0", "MAC": "", "MTU": "1500",
                    "other_config": {}, "qos_algorithm_type": "", "qos_algorithm_params": {}})
    disk = disk_of(api, vm)
    api.VDI.add_to_other_config(disk, "provisioner:owner", "disk-marker")
    nfs = one(api, "SR", "NFS shared")
    used = int(api.SR.get_physical_utilisation(nfs))
    snap = api.VM.snapshot(vm, "before")  # an XAPI of before ignore_vdis: two parameters
    record = api.VM.get_record(snap)
    assert record["is_a_snapshot"] and record["is_a_template"]
    assert record["snapshot_of"] == vm and record["power_state"] == "Halted"
    assert record["name_label"] == "before" and record["suspend_VDI"] == NULL
    assert record["other_config"]["provisioner:owner"] == "marker"
    assert record["snapshot_info"]["power-state-at-snapshot"] == "Halted"
    assert api.VM.get_snapshots(vm) == [snap] and api.VM.get_parent(vm) == snap
    copy = disk_of(api, snap)
    assert copy != disk
    copied = api.VDI.get_record(copy)
    assert copied["is_a_snapshot"] and copied["snapshot_of"] == disk
    assert copied["other_config"]["provisioner:owner"] == "disk-marker"
    assert int(api.SR.get_physical_utilisation(nfs)) == used + 10 * GiB  # thick
    assert api.VIF.get_MAC(api.VM.get_VIFs(snap)[0]) == api.VIF.get_MAC(
        api.VM.get_VIFs(vm)[0])
    other = api.VM.snapshot(vm, "later", [disk])  # ignore_vdis leaves that disk out
    assert api.VM.get_VBDs(other) == []


def test_snapshot_refusals(xapi_sim: XapiSimulator, api: Any) -> None:
    template = one(api, "VM", "debian-12-cloud")
    assert failure(api.VM.snapshot, template, "x") == ["VM_IS_TEMPLATE", template, "snapshot"]
    vm = new_vm(api)
    snap = api.VM.snapshot(vm, "s1")
    assert failure(api.VM.snapshot, snap, "x") == ["VM_IS_SNAPSHOT", snap, "snapshot"]
    assert failure(api.VM.start, snap, False, False) == ["VM_IS_SNAPSHOT", snap, "start"]
    assert failure(api.VM.checkpoint, vm, "x") == ["VM_BAD_POWER_STATE", vm,
                                                   "paused, suspended, running", "halted"]
    assert failure(api.VM.revert, vm) == ["REVERT_ONLY_ALLOWED_ON_SNAPSHOT"]
    assert failure(api.VM.snapshot, vm) == ["MESSAGE_PARAMETER_COUNT_MISMATCH", "VM.snapshot",
                                            "3", "1"]  # only the versioned one may be left out
    gone = "OpaqueRef:00000000-0000-0000-0000-000000000000"
    assert failure(api.VM.revert, gone) == ["HANDLE_INVALID", "VM", gone]
    dom0 = api.host.get_control_domain(one(api, "host", "xcp1"))
    assert failure(api.VM.snapshot, dom0, "x")[0] == "OPERATION_NOT_ALLOWED"
    tiny = xapi_sim.add_sr("tiny", size=12 * GiB, type="ext", host=one(api, "host", "xcp1"))
    small = api.VM.copy(template, "small", tiny)
    api.VM.set_is_a_template(small, False)
    vms = len(api.VM.get_all())
    assert failure(api.VM.snapshot, small, "x") == ["SR_FULL", str(20 * GiB), str(12 * GiB)]
    assert len(api.VM.get_all()) == vms  # nothing half-made


def test_revert_brings_the_disks_and_fields_back(xapi_sim: XapiSimulator, api: Any) -> None:
    vm = new_vm(api)
    disk = disk_of(api, vm)
    xapi_sim.vdi_contents[disk] = b"before"
    snap = api.VM.snapshot(vm, "before")
    api.VDI.resize(disk, str(20 * GiB))
    xapi_sim.vdi_contents[disk] = b"after"
    api.VM.set_memory(vm, str(4 * GiB))
    api.VM.start(vm, False, False)
    task = api.Async.VM.revert(snap)
    assert wait_task(api, task)["status"] == "success"
    record = api.VM.get_record(vm)
    assert record["power_state"] == "Halted"  # XAPI hard-shuts it down; no memory kept
    assert record["memory_static_max"] == str(2 * GiB) and record["name_label"] == "web1"
    assert record["parent"] == snap and record["is_a_snapshot"] is False
    new_disk = disk_of(api, vm)
    assert new_disk != disk and api.VDI.get_virtual_size(new_disk) == str(10 * GiB)
    assert failure(api.VDI.get_record, disk)[0] == "HANDLE_INVALID"  # the old disk is gone
    assert xapi_sim.vdi_contents[new_disk] == b"before"
    assert api.VDI.get_snapshot_of(disk_of(api, snap)) == new_disk
    assert api.VM.get_snapshots(vm) == [snap]  # the snapshot stays


def test_checkpoint_keeps_the_memory_and_revert_suspends(xapi_sim: XapiSimulator,
                                                         api: Any) -> None:
    vm = new_vm(api)
    api.VM.start(vm, False, False)
    snap = api.VM.checkpoint(vm, "running")
    record = api.VM.get_record(snap)
    assert record["power_state"] == "Suspended" and record["suspend_VDI"] != NULL
    image = api.VDI.get_record(record["suspend_VDI"])
    assert image["type"] == "suspend" and image["virtual_size"] == str(2 * GiB)
    assert api.VM.get_power_state(vm) == "Running"  # suspended and resumed around it
    api.VM.hard_shutdown(vm)
    api.VM.revert(snap)
    assert api.VM.get_power_state(vm) == "Suspended"
    suspend_vdi = api.VM.get_suspend_VDI(vm)
    assert suspend_vdi not in (NULL, record["suspend_VDI"])
    api.VM.resume(vm, False, False)
    assert api.VM.get_power_state(vm) == "Running"
    assert api.VM.get_suspend_VDI(vm) == NULL  # the image goes with the resume
    assert failure(api.VDI.get_record, suspend_vdi)[0] == "HANDLE_INVALID"


def test_snapshots_are_destroyed_as_templates_are(xapi_sim: XapiSimulator, api: Any) -> None:
    vm = new_vm(api)
    template = api.VM.get_parent(vm)
    snap = api.VM.snapshot(vm, "s1")
    copy = disk_of(api, snap)
    api.VDI.destroy(copy)  # its VBD goes with it: the snapshot VM is never running
    assert api.VM.get_VBDs(snap) == []
    api.VM.destroy(snap)
    assert api.VM.get_snapshots(vm) == []
    assert api.VM.get_parent(vm) == template  # rebased onto the snapshot's parent
