"""VBDs: create (userdevice rules, CDs), plug/unplug, eject/insert, destroy."""

from __future__ import annotations

from typing import Any

from .accessors import constructor_fields
from .devices import refresh_vbd_ops
from .errors import XapiError, handle_invalid
from .registry import CallContext, handles
from .store import ObjectStore
from .vm_power import RUNNING
from .wire import NULL_REF

MAX_USERDEVICE = 16


def used_userdevices(store: ObjectStore, vm: str) -> set[str]:
    return {store.get("VBD", v)["userdevice"] for v in store.get("VM", vm)["VBDs"]}


@handles("VM.get_allowed_VBD_devices")
def allowed_vbd_devices(ctx: CallContext, vm: str) -> list[str]:
    used = used_userdevices(ctx.store, vm)
    return [str(n) for n in range(MAX_USERDEVICE) if str(n) not in used]


@handles("VBD.create")
def vbd_create(ctx: CallContext, record: dict[str, Any]) -> str:
    store = ctx.store
    fields = constructor_fields(ctx, "VBD", record)
    vm, vdi = fields["VM"], fields["VDI"]
    if not store.exists("VM", vm):
        raise handle_invalid("VM", vm)
    if fields["empty"] and fields["type"] != "CD":
        raise XapiError("VBD_NOT_REMOVABLE_MEDIA", NULL_REF)
    if not fields["empty"] and not store.exists("VDI", vdi):
        raise handle_invalid("VDI", vdi)
    if fields["type"] == "CD" and fields["mode"] != "RO":
        raise XapiError("VBD_CDS_MUST_BE_READONLY")
    used = used_userdevices(store, vm)
    if fields["userdevice"] == "autodetect":
        free = [str(n) for n in range(MAX_USERDEVICE) if str(n) not in used]
        if not free:
            raise XapiError("INVALID_DEVICE", "autodetect")
        fields["userdevice"] = free[0]
    elif fields["userdevice"] in used:
        raise XapiError("DEVICE_ALREADY_EXISTS", fields["userdevice"])
    if fields["empty"]:
        fields["VDI"] = NULL_REF
    fields["currently_attached"] = False  # attached when the VM boots or on VBD.plug
    vbd = store.new("VBD", fields)
    refresh_vbd_ops(store, vbd)
    return vbd


def _assert_vm_running(store: ObjectStore, vm: str) -> None:
    state = store.get("VM", vm)["power_state"]
    if state != RUNNING:
        raise XapiError("VM_BAD_POWER_STATE", vm, "running", state.lower())


@handles("VBD.plug")
def vbd_plug(ctx: CallContext, vbd: str) -> None:
    store = ctx.store
    record = store.get("VBD", vbd)
    _assert_vm_running(store, record["VM"])
    if record["currently_attached"]:
        raise XapiError("DEVICE_ALREADY_ATTACHED", vbd)
    store.set("VBD", vbd, "currently_attached", True)
    refresh_vbd_ops(store, vbd)


@handles("VBD.unplug", "VBD.unplug_force")
def vbd_unplug(ctx: CallContext, vbd: str) -> None:
    store = ctx.store
    record = store.get("VBD", vbd)
    _assert_vm_running(store, record["VM"])
    if not record["currently_attached"]:
        raise XapiError("DEVICE_ALREADY_DETACHED", vbd)
    if not record["unpluggable"] and ctx.message.name == "unplug":
        raise XapiError("VBD_NOT_UNPLUGGABLE", vbd)
    store.set("VBD", vbd, "currently_attached", False)
    refresh_vbd_ops(store, vbd)


@handles("VBD.destroy")
def vbd_destroy(ctx: CallContext, vbd: str) -> None:
    store = ctx.store
    record = store.get("VBD", vbd)
    if record["currently_attached"]:
        vm_uuid = store.get("VM", record["VM"])["uuid"] if store.exists("VM", record["VM"]) \
            else ""
        raise XapiError("OPERATION_NOT_ALLOWED",
                        f"VBD '{record['uuid']}' still attached to '{vm_uuid}'")
    store.destroy("VBD", vbd)


@handles("VBD.eject")
def vbd_eject(ctx: CallContext, vbd: str) -> None:
    store = ctx.store
    record = store.get("VBD", vbd)
    if record["type"] != "CD":
        raise XapiError("VBD_NOT_REMOVABLE_MEDIA", vbd)
    if record["empty"]:
        raise XapiError("VBD_IS_EMPTY", vbd)
    store.update("VBD", vbd, VDI=NULL_REF, empty=True)
    refresh_vbd_ops(store, vbd)


@handles("VBD.insert")
def vbd_insert(ctx: CallContext, vbd: str, vdi: str) -> None:
    store = ctx.store
    record = store.get("VBD", vbd)
    if record["type"] != "CD":
        raise XapiError("VBD_NOT_REMOVABLE_MEDIA", vbd)
    if not record["empty"]:
        raise XapiError("VBD_NOT_EMPTY", vbd)
    store.update("VBD", vbd, VDI=vdi, empty=False)
    refresh_vbd_ops(store, vbd)
