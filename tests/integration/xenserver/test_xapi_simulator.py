"""The XAPI simulator, driven through the real XenAPI client over verified HTTPS."""

from __future__ import annotations

import json
import ssl
import subprocess
import sys
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
