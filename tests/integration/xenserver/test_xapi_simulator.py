"""The XAPI simulator, driven through the real XenAPI client over verified HTTPS."""

from __future__ import annotations

import json
import ssl
import subprocess
import sys
import threading
import time
import xmlrpc.client
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import XenAPI
from support.xapi import GiB, XapiSimulator, load_model
from support.xapi import fixture as sim_fixtures

pytestmark = pytest.mark.integration
xapi_sim = sim_fixtures.xapi_sim  # the shared fixture (a conftest would import it)

XAPI_DIR = Path(__file__).resolve().parents[2] / "support" / "xapi"
NULL = "OpaqueRef:NULL"


def connect(sim: XapiSimulator, user: str = "root", password: str = "secret",
            url: str | None = None) -> XenAPI.Session:
    assert sim.ca_file is not None
    context = ssl.create_default_context(cafile=sim.ca_file)
    session = XenAPI.Session(url or sim.url,
                             transport=xmlrpc.client.SafeTransport(context=context))
    session.xenapi.login_with_password(user, password, "2.21", "sim-test")
    return session


@pytest.fixture
def api(xapi_sim: XapiSimulator) -> Iterator[Any]:
    session = connect(xapi_sim)
    yield session.xenapi
    session.xenapi.session.logout()


def failure(call: Callable[..., Any], *args: Any) -> list[str]:
    with pytest.raises(XenAPI.Failure) as caught:
        call(*args)
    return list(caught.value.details)


def one(api: Any, cls: str, name: str) -> str:
    refs = getattr(api, cls).get_by_name_label(name)
    assert len(refs) == 1, (cls, name, refs)
    return str(refs[0])


def new_vm(api: Any, name: str = "web1") -> str:
    vm = api.VM.clone(one(api, "VM", "debian-12-cloud"), name)
    api.VM.set_is_a_template(vm, False)
    return str(vm)


def event_from(api: Any) -> Any:
    return getattr(api.event, "from")  # "from" is a Python keyword


def wait_task(api: Any, task: str, timeout: float = 5.0) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        record = api.task.get_record(task)
        if record["status"] != "pending":
            return dict(record)
        time.sleep(0.02)
    raise AssertionError(f"task {task} still pending")


# ---- wire, sessions, roles --------------------------------------------------------

def test_login_records_and_int_as_string(xapi_sim: XapiSimulator, api: Any) -> None:
    records = api.VM.get_all_records()
    names = sorted(r["name_label"] for r in records.values())
    assert "Debian Bookworm 12" in names and "debian-12-cloud" in names
    template = one(api, "VM", "debian-12-cloud")
    record = api.VM.get_record(template)
    assert record["memory_static_max"] == str(2 * GiB)  # int travels as a string
    assert record["is_a_template"] is True and record["power_state"] == "Halted"
    assert isinstance(record["VBDs"], list) and isinstance(record["other_config"], dict)
    assert api.VM.get_memory_static_max(template) == str(2 * GiB)
    assert api.VM.get_by_uuid(record["uuid"]) == template


def test_wrong_password_and_unknown_user(xapi_sim: XapiSimulator) -> None:
    for user, password in (("root", "nope"), ("ghost", "secret")):
        with pytest.raises(XenAPI.Failure) as caught:
            connect(xapi_sim, user, password)
        assert caught.value.details == ["SESSION_AUTHENTICATION_FAILED"]


def test_read_only_role_is_denied_writes(xapi_sim: XapiSimulator) -> None:
    session = connect(xapi_sim, "auditor")
    api = session.xenapi
    template = one(api, "VM", "debian-12-cloud")
    assert api.VM.get_name_label(template) == "debian-12-cloud"
    details = failure(api.VM.clone, template, "nope")
    assert details[:2] == ["RBAC_PERMISSION_DENIED", "VM.clone"]
    vm_admin = connect(xapi_sim, "vmadmin").xenapi  # vm-admin may not set memory limits
    assert failure(vm_admin.VM.set_memory_limits, template, "1", "1", "1", "1")[0] == \
        "RBAC_PERMISSION_DENIED"


def test_expired_session_is_invalid_and_client_relogs(xapi_sim: XapiSimulator) -> None:
    session = connect(xapi_sim)
    old = session._session
    xapi_sim.expire_sessions()
    raw = xmlrpc.client.ServerProxy(
        xapi_sim.url, context=ssl.create_default_context(cafile=xapi_sim.ca_file))
    answer = raw.VM.get_all(old)
    assert answer["Status"] == "Failure" and answer["ErrorDescription"] == ["SESSION_INVALID", old]
    assert len(session.xenapi.VM.get_all()) >= 4  # XenAPI re-logs in on SESSION_INVALID
    assert session._session != old


def test_member_refuses_login_with_host_is_slave(xapi_sim: XapiSimulator) -> None:
    with pytest.raises(XenAPI.Failure) as caught:
        connect(xapi_sim, url=xapi_sim.member_url())
    assert caught.value.details == ["HOST_IS_SLAVE", xapi_sim.master_address]
    host, port = caught.value.details[1].split(":")
    session = connect(xapi_sim, url=f"https://{host}:{port}")
    pool = session.xenapi.pool.get_all()[0]
    assert session.xenapi.host.get_name_label(session.xenapi.pool.get_master(pool)) == "xcp1"


def raw_call(sim: XapiSimulator, method: str, *params: Any) -> dict[str, Any]:
    proxy = xmlrpc.client.ServerProxy(
        sim.url, context=ssl.create_default_context(cafile=sim.ca_file), allow_none=True)
    result: dict[str, Any] = getattr(proxy, method)(*params)
    return result


def test_generic_refusals_come_from_the_model(xapi_sim: XapiSimulator, api: Any) -> None:
    session = raw_call(xapi_sim, "session.login_with_password", "root", "secret", "1", "t")
    ref = session["Value"]
    template = one(api, "VM", "debian-12-cloud")
    assert raw_call(xapi_sim, "VM.frobnicate", ref)["ErrorDescription"] == \
        ["MESSAGE_METHOD_UNKNOWN", "VM.frobnicate"]
    assert raw_call(xapi_sim, "Widget.get_all", ref)["ErrorDescription"][0] == \
        "MESSAGE_METHOD_UNKNOWN"
    assert raw_call(xapi_sim, "VM.start", ref, template)["ErrorDescription"] == \
        ["MESSAGE_PARAMETER_COUNT_MISMATCH", "VM.start", "3", "1"]
    # set_X exists only for RW fields: power_state is RO
    assert raw_call(xapi_sim, "VM.set_power_state", ref, template, "Running")[
        "ErrorDescription"][0] == "MESSAGE_METHOD_UNKNOWN"
    # a message the model lists as removed
    vdi = api.VDI.get_all()[0]
    assert raw_call(xapi_sim, "VDI.resize_online", ref, vdi, "1")["ErrorDescription"] == \
        ["MESSAGE_REMOVED"]
    # refs: missing object, or one of another class
    ghost = "OpaqueRef:00000000-0000-0000-0000-000000000000"
    assert raw_call(xapi_sim, "VM.get_record", ref, ghost)["ErrorDescription"] == \
        ["HANDLE_INVALID", "VM", ghost]
    assert raw_call(xapi_sim, "VM.get_record", ref, vdi)["ErrorDescription"] == \
        ["HANDLE_INVALID", "VM", vdi]
    # types: a bool param must be a boolean; an int may be an int or a decimal string
    wrong = raw_call(xapi_sim, "VM.start", ref, template, "yes", False)["ErrorDescription"]
    assert wrong[0] == "INTERNAL_ERROR" and "Expected bool" in wrong[1]
    vm = new_vm(api)
    assert raw_call(xapi_sim, "VM.set_VCPUs_max", ref, vm, 4)["Status"] == "Success"
    assert raw_call(xapi_sim, "VM.set_VCPUs_max", ref, vm, "3")["Status"] == "Success"
    bad_int = raw_call(xapi_sim, "VM.set_VCPUs_max", ref, vm, "three")["ErrorDescription"]
    assert bad_int[0] == "INTERNAL_ERROR" and "int64" in bad_int[1]
    assert raw_call(xapi_sim, "VM.get_VCPUs_max", ref, vm)["Value"] == "3"
    assert raw_call(xapi_sim, "VM.get_by_uuid", ref, "nope")["ErrorDescription"] == \
        ["UUID_INVALID", "VM", "nope"]


def test_everything_answered_is_in_the_model(xapi_sim: XapiSimulator) -> None:
    from support.xapi.registry import HANDLERS

    model = load_model()
    for wire_name in HANDLERS:
        message = model.message(wire_name)
        assert message is not None, wire_name
        assert not message.removed, wire_name
    for cls in ("VM", "VDI", "VBD", "VIF", "SR", "network", "host", "task"):
        cdef = model.cls(cls)
        implicit = {n for n, m in cdef.messages.items() if m.implicit}
        assert cdef.implicit_messages_expected() <= set(cdef.messages), cls
        assert implicit - cdef.implicit_messages_expected() <= {"create", "destroy"}, cls
    assert model.source["commit"] and len(model.source["commit"]) == 40


def test_derived_model_keeps_no_prose(tmp_path: Path) -> None:
    sample = [{
        "name": "thing", "description": "SECRET PROSE", "tag": "", "lifecycle": {
            "state": "Published_s", "transitions": [{"transition": "published",
                                                     "release": "rio",
                                                     "description": "MORE PROSE"}]},
        "enums": [{"name": "colour", "values": [{"name": "red", "doc": "PROSE"}]}],
        "fields": [{"name": "size", "description": "PROSE", "type": "int",
                    "qualifier": "RW", "tag": "", "default": "7",
                    "lifecycle": {"state": "Published_s", "transitions": []}}],
        "messages": [{"name": "poke", "description": "PROSE", "result": ["void"],
                      "params": [{"type": "thing ref", "name": "self", "doc": "PROSE"}],
                      "errors": [{"name": "SOME_ERROR", "doc": "PROSE"}],
                      "roles": ["pool-admin"], "tag": "", "implicit": False,
                      "lifecycle": {"state": "Published_s", "transitions": []}}],
    }]
    source = tmp_path / "xenapi.json"
    source.write_text(json.dumps(sample))
    out = subprocess.run([sys.executable, str(XAPI_DIR / "derive_model.py"), str(source),
                          "--commit", "0" * 40], check=True, capture_output=True, text=True)
    assert "PROSE" not in out.stdout
    derived = json.loads(out.stdout)
    assert derived["classes"]["thing"]["fields"]["size"]["default"] == 7
    assert derived["enums"] == {"colour": ["red"]}
    committed = json.loads((XAPI_DIR / "model.json").read_text())
    assert set(committed) == {"source", "enums", "errors", "classes"}
    for cls in committed["classes"].values():
        assert set(cls) == {"lifecycle", "fields", "messages"}
        for field in cls["fields"].values():
            assert set(field) <= {"type", "qualifier", "lifecycle", "default"}
        for message in cls["messages"].values():
            assert set(message) == {"params", "result", "errors", "roles", "lifecycle",
                                    "implicit"}
            assert all(len(param) == 2 for param in message["params"])


# ---- VM power states, templates, placement ---------------------------------------

def test_power_state_machine_and_allowed_operations(xapi_sim: XapiSimulator, api: Any) -> None:
    vm = new_vm(api)
    assert "start" in api.VM.get_allowed_operations(vm)
    assert failure(api.VM.clean_shutdown, vm) == ["VM_BAD_POWER_STATE", vm, "running",
                                                  "halted"]
    api.VM.start(vm, False, False)
    record = api.VM.get_record(vm)
    assert record["power_state"] == "Running" and record["resident_on"] != NULL
    assert "clean_shutdown" in record["allowed_operations"]
    assert "start" not in record["allowed_operations"]
    assert failure(api.VM.start, vm, False, False) == ["VM_BAD_POWER_STATE", vm, "halted",
                                                       "running"]
    assert failure(api.VM.destroy, vm)[0] == "VM_BAD_POWER_STATE"
    assert failure(api.VM.clone, vm, "x")[:3] == ["VM_BAD_POWER_STATE", vm, "halted"]
    api.VM.pause(vm)
    assert api.VM.get_power_state(vm) == "Paused"
    api.VM.unpause(vm)
    api.VM.suspend(vm)
    assert api.VM.get_power_state(vm) == "Suspended"
    assert api.VM.get_resident_on(vm) == NULL
    api.VM.resume(vm, False, False)
    api.VM.clean_reboot(vm)
    api.VM.hard_shutdown(vm)
    assert api.VM.get_power_state(vm) == "Halted"
    vbd = api.VM.get_VBDs(vm)[0]
    vdi = api.VBD.get_VDI(vbd)
    api.VM.destroy(vm)
    assert failure(api.VBD.get_record, vbd) == ["HANDLE_INVALID", "VBD", vbd]
    assert api.VDI.get_record(vdi)["VBDs"] == []  # XAPI keeps the VDI


def test_templates_and_control_domains_refuse(xapi_sim: XapiSimulator, api: Any) -> None:
    template = one(api, "VM", "Debian Bookworm 12")
    assert failure(api.VM.start, template, False, False) == ["VM_IS_TEMPLATE", template,
                                                             "start"]
    assert failure(api.VM.destroy, template)[0] == "VM_IS_TEMPLATE"  # a default template
    clone = api.VM.clone(template, "tpl-copy")
    assert api.VM.get_is_a_template(clone) is True  # a template's clone is a template
    api.VM.provision(clone)
    api.VM.destroy(clone)  # not a default template
    dom0 = api.host.get_control_domain(one(api, "host", "xcp1"))
    assert failure(api.VM.destroy, dom0) == ["OPERATION_NOT_ALLOWED",
                                             "This operation is not allowed on dom0"]


def test_start_needs_memory_and_honours_affinity(xapi_sim: XapiSimulator, api: Any) -> None:
    xcp1, xcp2 = one(api, "host", "xcp1"), one(api, "host", "xcp2")
    free1 = int(api.host.compute_free_memory(xcp1))
    assert free1 == 30 * GiB  # 32 GiB less the control domain's 2 GiB
    big = new_vm(api, "big")
    api.VM.set_memory_limits(big, str(GiB), str(40 * GiB), str(40 * GiB), str(40 * GiB))
    assert failure(api.VM.start, big, False, False) == ["NO_HOSTS_AVAILABLE"]
    assert failure(api.VM.start_on, big, xcp2, False, False) == [
        "HOST_NOT_ENOUGH_FREE_MEMORY", str(40 * GiB), str(14 * GiB)]
    small = new_vm(api, "small")
    api.VM.set_affinity(small, xcp2)
    api.VM.start(small, False, False)
    assert api.VM.get_resident_on(small) == xcp2
    assert int(api.host.compute_free_memory(xcp2)) == 12 * GiB
    assert small in api.host.get_resident_VMs(xcp2)
    metrics = xapi_sim.objects("host_metrics")[api.host.get_metrics(xcp2)]
    assert metrics["memory_free"] == 12 * GiB  # kept in the store; Removed from the model
    assert "memory_free" not in api.host_metrics.get_record(api.host.get_metrics(xcp2))


def test_memory_and_vcpu_rules(xapi_sim: XapiSimulator, api: Any) -> None:
    vm = new_vm(api)
    assert failure(api.VM.set_memory_limits, vm, str(2 * GiB), str(GiB), str(GiB),
                   str(GiB))[0] == "MEMORY_CONSTRAINT_VIOLATION"
    api.VM.set_memory_limits(vm, str(GiB), str(4 * GiB), str(2 * GiB), str(4 * GiB))
    api.VM.set_memory_static_max(vm, str(8 * GiB))
    assert failure(api.VM.set_memory_static_max, vm, str(GiB))[0] == \
        "MEMORY_CONSTRAINT_VIOLATION"
    api.VM.set_VCPUs_max(vm, "4")
    api.VM.set_VCPUs_at_startup(vm, "2")
    assert failure(api.VM.set_VCPUs_at_startup, vm, "5")[:2] == ["INVALID_VALUE",
                                                                "VCPUs_at_startup"]
    assert failure(api.VM.set_VCPUs_number_live, vm, "3")[0] == "VM_BAD_POWER_STATE"
    api.VM.start(vm, False, False)
    assert failure(api.VM.set_memory_static_max, vm, str(4 * GiB)) == [
        "VM_BAD_POWER_STATE", vm, "halted", "running"]
    assert failure(api.VM.set_VCPUs_max, vm, "8")[0] == "VM_BAD_POWER_STATE"
    api.VM.set_memory_dynamic_range(vm, str(3 * GiB), str(5 * GiB))
    api.VM.set_VCPUs_number_live(vm, "4")
    assert failure(api.VM.set_VCPUs_number_live, vm, "5")[0] == "INVALID_VALUE"
    assert api.VM.get_VCPUs_at_startup(vm) == "4"


# ---- clone / copy, storage ----------------------------------------------------------

def test_clone_and_copy_make_new_disks_and_macs(xapi_sim: XapiSimulator, api: Any) -> None:
    template = one(api, "VM", "debian-12-cloud")
    net0 = one(api, "network", "Pool-wide network associated with eth0")
    api.VIF.create({"VM": template, "network": net0, "device": "0", "MAC": "",
                    "MTU": "1500", "other_config": {}, "qos_algorithm_type": "",
                    "qos_algorithm_params": {}})
    vm = api.VM.clone(template, "clone1")
    nfs = one(api, "SR", "NFS shared")
    local1 = one(api, "SR", "Local storage xcp1")
    source_vdi = api.VBD.get_VDI(api.VM.get_VBDs(template)[0])
    clone_vdi = api.VBD.get_VDI(api.VM.get_VBDs(vm)[0])
    assert clone_vdi != source_vdi and api.VDI.get_SR(clone_vdi) == nfs
    assert api.VIF.get_MAC(api.VM.get_VIFs(vm)[0]) != api.VIF.get_MAC(
        api.VM.get_VIFs(template)[0])
    copied = api.VM.copy(template, "copy1", local1)
    copy_vdi = api.VBD.get_VDI(api.VM.get_VBDs(copied)[0])
    assert api.VDI.get_SR(copy_vdi) == local1
    assert api.SR.get_physical_utilisation(local1) == str(10 * GiB)
    same = api.VM.copy(template, "copy2", NULL)
    assert api.VDI.get_SR(api.VBD.get_VDI(api.VM.get_VBDs(same)[0])) == nfs
    tiny = xapi_sim.add_sr("tiny", size=5 * GiB, type="ext", host=one(api, "host", "xcp1"))
    vms_before = len(api.VM.get_all())
    assert failure(api.VM.copy, template, "copy3", tiny) == ["SR_FULL", str(10 * GiB),
                                                              str(5 * GiB)]
    assert len(api.VM.get_all()) == vms_before  # nothing half-made


def test_vdi_create_destroy_resize(xapi_sim: XapiSimulator, api: Any) -> None:
    local2 = one(api, "SR", "Local storage xcp2")
    nfs = one(api, "SR", "NFS shared")
    record = {"name_label": "data", "SR": local2, "virtual_size": str(150 * GiB),
              "type": "user", "sharable": False, "read_only": False, "other_config": {}}
    vdi = api.VDI.create(record)
    assert api.SR.get_physical_utilisation(local2) == str(150 * GiB)
    assert failure(api.VDI.create, {**record, "virtual_size": str(60 * GiB)}) == [
        "SR_FULL", str(210 * GiB), str(200 * GiB)]
    assert failure(api.VDI.create, {k: v for k, v in record.items() if k != "SR"}) == [
        "INTERNAL_ERROR", 'Server_helpers.Dispatcher_FieldNotFound("SR")']
    assert failure(api.VDI.resize, vdi, str(GiB))[0] == "SR_BACKEND_FAILURE"  # no shrink
    api.VDI.resize(vdi, str(160 * GiB))
    assert failure(api.VDI.resize, vdi, str(260 * GiB))[0] == "SR_FULL"
    vm = new_vm(api)
    vbd = api.VBD.create({"VM": vm, "VDI": vdi, "userdevice": "autodetect",
                          "bootable": False, "mode": "RW", "type": "Disk", "empty": False,
                          "other_config": {}, "qos_algorithm_type": "",
                          "qos_algorithm_params": {}})
    assert api.VBD.get_userdevice(vbd) == "1"
    api.VM.start_on(vm, one(api, "host", "xcp2"), False, False)
    assert api.VBD.get_currently_attached(vbd) is True
    assert failure(api.VDI.destroy, vdi) == ["VDI_IN_USE", vdi, "destroy"]
    assert failure(api.VDI.resize, vdi, str(170 * GiB)) == ["VDI_IN_USE", vdi, "resize"]
    root_vdi = api.VBD.get_VDI(api.VM.get_VBDs(vm)[0])
    assert api.VDI.get_SR(root_vdi) == nfs
    api.VDI.resize(root_vdi, str(20 * GiB))  # NFS shared resizes attached disks
    iso = one(api, "SR", "ISO library")
    assert failure(api.VDI.create, {**record, "SR": iso}) == ["SR_OPERATION_NOT_SUPPORTED",
                                                             iso]
    api.VM.hard_shutdown(vm)
    api.VDI.destroy(vdi)
    assert api.SR.get_physical_utilisation(local2) == "0"


def test_vbd_devices_plug_and_cds(xapi_sim: XapiSimulator, api: Any) -> None:
    vm = new_vm(api)
    nfs = one(api, "SR", "NFS shared")
    vdi = api.VDI.create({"name_label": "d1", "SR": nfs, "virtual_size": str(GiB),
                          "type": "user", "sharable": False, "read_only": False,
                          "other_config": {}})
    base = {"VM": vm, "VDI": vdi, "bootable": False, "mode": "RW", "type": "Disk",
            "empty": False, "other_config": {}, "qos_algorithm_type": "",
            "qos_algorithm_params": {}}
    assert failure(api.VBD.create, {**base, "userdevice": "0"}) == ["DEVICE_ALREADY_EXISTS",
                                                                   "0"]
    cd = api.VBD.create({**base, "VDI": NULL, "userdevice": "3", "type": "CD", "mode": "RO",
                         "empty": True})
    assert api.VBD.get_empty(cd) is True
    api.VBD.insert(cd, one(api, "VDI", "debian-12.7.0-amd64-netinst.iso"))
    assert failure(api.VBD.insert, cd, vdi)[0] == "VBD_NOT_EMPTY"
    api.VBD.eject(cd)
    assert failure(api.VBD.eject, cd) == ["VBD_IS_EMPTY", cd]
    assert failure(api.VBD.plug, cd) == ["VM_BAD_POWER_STATE", vm, "running", "halted"]
    root = api.VM.get_VBDs(vm)[0]
    assert api.VBD.get_allowed_operations(root) == []
    api.VM.start(vm, False, False)
    assert api.VBD.get_allowed_operations(root) == ["unplug"]
    hot = api.VBD.create({**base, "userdevice": "1"})
    assert api.VBD.get_allowed_operations(hot) == ["plug"]
    assert api.VBD.get_currently_attached(hot) is False  # not until plugged
    api.VBD.plug(hot)
    assert failure(api.VBD.plug, hot) == ["DEVICE_ALREADY_ATTACHED", hot]
    assert failure(api.VBD.destroy, hot)[0] == "OPERATION_NOT_ALLOWED"
    api.VBD.unplug(hot)
    assert failure(api.VBD.unplug, hot) == ["DEVICE_ALREADY_DETACHED", hot]
    api.VBD.destroy(hot)
    assert hot not in api.VM.get_VBDs(vm) and hot not in api.VDI.get_VBDs(vdi)


# ---- networks ------------------------------------------------------------------------

def test_vif_rules_network_destroy_and_vlan(xapi_sim: XapiSimulator, api: Any) -> None:
    vm = new_vm(api)
    net = api.network.create({"name_label": "backend", "name_description": "",
                              "MTU": "1500", "other_config": {}, "tags": []})
    assert api.network.get_bridge(net).startswith("xapi")
    base = {"VM": vm, "network": net, "MTU": "1500", "other_config": {},
            "qos_algorithm_type": "", "qos_algorithm_params": {}}
    vif = api.VIF.create({**base, "device": "0", "MAC": ""})
    mac = api.VIF.get_MAC(vif)
    assert len(mac.split(":")) == 6 and api.VIF.get_MAC_autogenerated(vif) is True
    assert failure(api.VIF.create, {**base, "device": "0", "MAC": ""}) == [
        "DEVICE_ALREADY_EXISTS", "0"]
    assert failure(api.VIF.create, {**base, "device": "1", "MAC": "zz:00"}) == [
        "MAC_INVALID", "zz:00"]
    fixed = api.VIF.create({**base, "device": "1", "MAC": "02:11:22:33:44:55"})
    assert api.VIF.get_MAC_autogenerated(fixed) is False
    assert set(api.network.get_VIFs(net)) == {vif, fixed}
    api.VM.start(vm, False, False)
    assert failure(api.network.destroy, net)[0] == "NETWORK_CONTAINS_VIF"
    assert failure(api.VIF.destroy, vif)[0] == "OPERATION_NOT_ALLOWED"
    api.VIF.unplug(vif)
    assert failure(api.VIF.unplug, vif) == ["DEVICE_ALREADY_DETACHED", vif]
    api.VIF.destroy(vif)
    api.VM.hard_shutdown(vm)
    api.network.destroy(net)
    vlan_net = api.network.create({"name_label": "vlan42", "name_description": "",
                                   "MTU": "1500", "other_config": {}, "tags": []})
    assert failure(api.pool.create_VLAN, "eth0", vlan_net, "5000") == ["VLAN_TAG_INVALID",
                                                                       "5000"]
    pifs = api.pool.create_VLAN("eth0", vlan_net, "42")
    assert len(pifs) == 2 and {api.PIF.get_VLAN(p) for p in pifs} == {"42"}
    assert failure(api.pool.create_VLAN, "eth0", vlan_net, "42")[0] == "PIF_VLAN_EXISTS"


# ---- tasks, injected faults, events ---------------------------------------------------

def test_async_task_progress_result_and_failure(xapi_sim: XapiSimulator, api: Any) -> None:
    template = one(api, "VM", "debian-12-cloud")
    xapi_sim.task_seconds = 0.5
    task = api.Async.VM.clone(template, "async1")
    time.sleep(0.2)
    running = api.task.get_record(task)
    assert running["status"] == "pending" and 0.0 < running["progress"] < 1.0
    assert running["name_label"] == "Async.VM.clone"
    done = wait_task(api, task)
    assert done["status"] == "success" and done["progress"] == 1.0
    assert done["result"].startswith("<value>OpaqueRef:") and done["result"].endswith(
        "</value>")
    new = done["result"][len("<value>"):-len("</value>")]
    assert api.VM.get_name_label(new) == "async1"
    xapi_sim.task_seconds = 0.0
    failed = wait_task(api, api.Async.VM.clean_shutdown(new))
    assert failed["status"] == "failure"
    assert failed["error_info"][0] == "VM_BAD_POWER_STATE"
    api.task.destroy(task)
    assert failure(api.task.get_record, task) == ["HANDLE_INVALID", "task", task]


def test_task_cancel_means_the_operation_did_not_happen(xapi_sim: XapiSimulator,
                                                        api: Any) -> None:
    template = one(api, "VM", "debian-12-cloud")
    before = set(api.VM.get_all())
    xapi_sim.task_seconds = 2.0
    task = api.Async.VM.clone(template, "never")
    time.sleep(0.1)
    api.task.cancel(task)
    record = wait_task(api, task)
    assert record["status"] == "cancelled"
    assert record["error_info"] == ["TASK_CANCELLED", task]
    assert set(api.VM.get_all()) == before
    assert failure(api.task.cancel, task)[0] == "OPERATION_NOT_ALLOWED"


def test_injected_failures_delays_and_call_log(xapi_sim: XapiSimulator, api: Any) -> None:
    vm = new_vm(api)
    xapi_sim.clear_calls()
    xapi_sim.fail("VM.start", "HOST_NOT_ENOUGH_FREE_MEMORY", "1", "0", times=2)
    for _ in range(2):
        assert failure(api.VM.start, vm, False, False) == ["HOST_NOT_ENOUGH_FREE_MEMORY",
                                                           "1", "0"]
    xapi_sim.fail_task("VM.start", "NO_HOSTS_AVAILABLE")
    record = wait_task(api, api.Async.VM.start(vm, False, False))
    assert record["status"] == "failure" and record["error_info"] == ["NO_HOSTS_AVAILABLE"]
    assert api.VM.get_power_state(vm) == "Halted"  # the failed task did nothing
    xapi_sim.delay("VM.start", 0.3)
    began = time.monotonic()
    api.VM.start(vm, False, False)
    assert time.monotonic() - began >= 0.3
    methods = [call.method for call in xapi_sim.calls]
    assert methods[:3] == ["VM.start", "VM.start", "Async.VM.start"]
    assert xapi_sim.calls[0].args == (vm, False, False)  # the session is not logged
    xapi_sim.set_field(vm, "name_label", "drifted")
    assert api.VM.get_name_label(vm) == "drifted"
    assert xapi_sim.objects("VM")[vm]["name_label"] == "drifted"


def test_event_from_blocks_and_wakes(xapi_sim: XapiSimulator, api: Any) -> None:
    first = event_from(api)(["vm"], "", 0.0)
    adds = [e for e in first["events"] if e["operation"] == "add"]
    assert {e["class"] for e in first["events"]} == {"vm"}
    assert len(adds) == len(api.VM.get_all()) and "snapshot" in adds[0]
    assert first["valid_ref_counts"]["vm"] == len(api.VM.get_all())
    token = first["token"]
    began = time.monotonic()
    quiet = event_from(api)(["vm"], token, 0.3)
    assert quiet["events"] == [] and time.monotonic() - began >= 0.3
    vm = one(api, "VM", "debian-12-cloud")
    other = connect(xapi_sim).xenapi
    threading.Timer(0.2, other.VM.set_name_label, (vm, "renamed")).start()
    began = time.monotonic()
    woken = event_from(api)(["vm"], quiet["token"], 5.0)
    assert time.monotonic() - began < 3.0
    mods = [e for e in woken["events"] if e["ref"] == vm]
    assert mods and mods[-1]["operation"] == "mod"
    assert mods[-1]["snapshot"]["name_label"] == "renamed"
    clone = api.VM.clone(vm, "gone")
    api.VM.destroy(clone)
    later = event_from(api)(["vm"], woken["token"], 1.0)
    assert [e["operation"] for e in later["events"] if e["ref"] == clone] == ["del"]
    assert failure(event_from(api), ["vm"], "garbage", 0.0) == [
        "EVENT_FROM_TOKEN_PARSE_FAILURE", "garbage"]
    injected = api.event.inject("VM", vm)
    again = event_from(api)(["vm"], injected, 0.0)
    assert vm in {e["ref"] for e in again["events"]}


def test_twenty_threads_create_vms_at_once(xapi_sim: XapiSimulator, api: Any) -> None:
    template = one(api, "VM", "debian-12-cloud")
    made: list[str] = []
    errors: list[BaseException] = []

    def worker(index: int) -> None:
        try:
            session = connect(xapi_sim)
            vm = session.xenapi.VM.clone(template, f"par{index}")
            session.xenapi.VM.set_is_a_template(vm, False)
            session.xenapi.VM.start(vm, False, False)
            made.append(vm)
        except BaseException as exc:  # reported below
            errors.append(exc)

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(20)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(20)
    assert errors == [] and len(set(made)) == 20
    vdis = {api.VBD.get_VDI(api.VM.get_VBDs(vm)[0]) for vm in made}
    assert len(vdis) == 20
    nfs = one(api, "SR", "NFS shared")
    assert int(api.SR.get_physical_utilisation(nfs)) == 21 * 10 * GiB
    running = [vm for vm in made if api.VM.get_power_state(vm) == "Running"]
    assert len(running) == 20
    for host in api.host.get_all():
        assert int(api.host.compute_free_memory(host)) >= 0


# ---- constructors, generated accessors, plain HTTP ---------------------------------

def vm_record(name: str, memory: int = GiB) -> dict[str, Any]:
    """Every RW and RO/constructor field of VM that has no model default."""
    model = load_model()
    record: dict[str, Any] = {}
    samples = {"int": "0", "bool": False, "string": "", "float": 1.0}
    for fname, fdef in model.cls("VM").fields.items():
        if fdef.in_constructor and not fdef.has_default and fdef.lifecycle != "Removed_s":
            kind = fdef.type.kind
            record[fname] = {"map": {}, "set": [], "ref": NULL}.get(kind, samples.get(kind))
            if kind == "enum":
                record[fname] = model.enum_values(fdef.type.name)[0]
    record.update(name_label=name, memory_static_min=str(memory), VCPUs_max="1",
                  memory_dynamic_min=str(memory), memory_dynamic_max=str(memory),
                  memory_static_max=str(memory), VCPUs_at_startup="1", is_a_template=False)
    return record


def test_vm_create_checks_record_and_memory(xapi_sim: XapiSimulator, api: Any) -> None:
    vm = api.VM.create(vm_record("scratch"))
    record = api.VM.get_record(vm)
    assert record["power_state"] == "Halted" and record["name_description"] == ""
    assert "mac_seed" in record["other_config"] and record["metrics"] != NULL
    missing = {k: v for k, v in vm_record("x").items() if k != "memory_static_max"}
    assert failure(api.VM.create, missing) == [
        "INTERNAL_ERROR", 'Server_helpers.Dispatcher_FieldNotFound("memory_static_max")']
    bad = {**vm_record("x"), "memory_dynamic_max": str(2 * GiB)}
    assert failure(api.VM.create, bad)[0] == "MEMORY_CONSTRAINT_VIOLATION"
    wrong_type = {**vm_record("x"), "is_a_template": "no"}
    assert failure(api.VM.create, wrong_type)[0] == "INTERNAL_ERROR"


def test_map_and_set_accessors(xapi_sim: XapiSimulator, api: Any) -> None:
    vm = new_vm(api)
    api.VM.add_to_other_config(vm, "provisioner:stack", "web")
    assert failure(api.VM.add_to_other_config, vm, "provisioner:stack", "x") == [
        "MAP_DUPLICATE_KEY", "VM", "other_config", api.VM.get_uuid(vm), "provisioner:stack"]
    api.VM.remove_from_other_config(vm, "provisioner:stack")
    assert "provisioner:stack" not in api.VM.get_other_config(vm)
    api.VM.add_tags(vm, "managed")
    api.VM.add_tags(vm, "managed")
    assert api.VM.get_tags(vm) == ["managed"]
    api.VM.remove_tags(vm, "managed")
    api.VM.set_other_config(vm, {"a": "1"})
    assert api.VM.get_other_config(vm) == {"a": "1"}
    host = one(api, "host", "xcp1")
    assert failure(api.VM.pool_migrate, vm, host, {}) == ["NOT_IMPLEMENTED", "VM.pool_migrate"]


def test_plain_http_and_short_login() -> None:
    sim = XapiSimulator(plain_http=True)
    sim.start()
    try:
        sim.seed_lab()
        assert sim.http_url is not None and sim.http_url.startswith("http://")
        session = XenAPI.Session(sim.http_url)
        session.xenapi.login_with_password("root", "secret")  # version, originator default
        assert len(session.xenapi.host.get_all()) == 2
        assert session.API_version == "2.21"
    finally:
        sim.stop()


def test_tls_is_verified_and_a_silent_client_blocks_nobody(xapi_sim: XapiSimulator) -> None:
    import socket

    host, port = xapi_sim.master_address.split(":")
    silent = socket.create_connection((host, int(port)))  # never says hello
    try:
        untrusted = XenAPI.Session(xapi_sim.url, transport=xmlrpc.client.SafeTransport(
            context=ssl.create_default_context()))
        with pytest.raises(ssl.SSLCertVerificationError):
            untrusted.xenapi.login_with_password("root", "secret", "1.0", "t")
        assert connect(xapi_sim).xenapi.pool.get_all()
    finally:
        silent.close()
