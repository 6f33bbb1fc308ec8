"""SRs, VDIs and VBDs: thick-provisioned capacity, attach state, CDs.

Capacity is the same for every SR type: an SR's physical_utilisation is the
sum of its VDIs' virtual_size (thick provisioning) and a VDI that would take
it past physical_size is refused with SR_FULL [requested, maximum].
"""

from __future__ import annotations

from typing import Any

from .accessors import constructor_fields
from .drivers import resizes_online
from .errors import XapiError, handle_invalid
from .registry import CallContext, handles
from .store import ObjectStore
from .wire import NULL_REF

VDI_COPIED = ("name_label", "name_description", "virtual_size", "type", "sharable",
              "read_only", "other_config", "xenstore_data", "tags")


def refresh_sr_usage(store: ObjectStore, sr: str) -> None:
    if store.exists("SR", sr):
        used = sum(store.get("VDI", v)["virtual_size"] for v in store.get("SR", sr)["VDIs"])
        store.update("SR", sr, physical_utilisation=used, virtual_allocation=used)


def assert_room(store: ObjectStore, sr: str, size: int) -> None:
    record = store.get("SR", sr)
    requested = record["physical_utilisation"] + size
    if requested > record["physical_size"]:
        raise XapiError("SR_FULL", requested, record["physical_size"])


def assert_sr_supports(store: ObjectStore, sr: str, op: str) -> None:
    if op not in store.get("SR", sr)["allowed_operations"]:
        raise XapiError("SR_OPERATION_NOT_SUPPORTED", sr)


def new_vdi(store: ObjectStore, fields: dict[str, Any]) -> str:
    sr = fields["SR"]
    assert_sr_supports(store, sr, "vdi_create")
    assert_room(store, sr, int(fields.get("virtual_size", 0)))
    vdi = store.new("VDI", {"managed": True, "location": "", **fields})
    record = store.get("VDI", vdi)
    if not record["location"]:
        store.set("VDI", vdi, "location", record["uuid"])
    store.set("VDI", vdi, "physical_utilisation", record["virtual_size"])
    store.set("VDI", vdi, "allowed_operations",
              ["clone", "copy", "resize", "snapshot", "destroy", "forget", "update"])
    refresh_sr_usage(store, sr)
    return vdi


def copy_disks(store: ObjectStore, vbds: list[str], sr: str | None) -> dict[str, str]:
    """New VDIs for a VM's disk VBDs (CDs keep their image): on the same SR when
    sr is None or the null ref, else on sr.  All-or-nothing on SR_FULL."""
    plan: list[tuple[str, str]] = []
    for vbd in vbds:
        record = store.get("VBD", vbd)
        if record["type"] == "Disk" and record["VDI"] != NULL_REF:
            source = store.get("VDI", record["VDI"])
            plan.append((record["VDI"], source["SR"] if sr in (None, NULL_REF) else sr))
    needed: dict[str, int] = {}
    for vdi, target in plan:
        needed[target] = needed.get(target, 0) + store.get("VDI", vdi)["virtual_size"]
    for target, size in needed.items():
        assert_sr_supports(store, target, "vdi_create")
        assert_room(store, target, size)
    mapping: dict[str, str] = {}
    for vdi, target in plan:
        source = store.get("VDI", vdi)
        mapping[vdi] = new_vdi(store, {**{k: source[k] for k in VDI_COPIED}, "SR": target})
    return mapping


def destroy_vdi(store: ObjectStore, vdi: str) -> None:
    """Destroy a VDI XAPI itself no longer needs (no checks), and count its SR again."""
    sr = store.get("VDI", vdi)["SR"]
    store.destroy("VDI", vdi)
    refresh_sr_usage(store, sr)


def drop_suspend_image(store: ObjectStore, vm: str) -> None:
    """A suspended VM's memory image goes when it resumes or is reverted."""
    image = store.get("VM", vm)["suspend_VDI"]
    store.set("VM", vm, "suspend_VDI", NULL_REF)
    if image != NULL_REF and store.exists("VDI", image):
        destroy_vdi(store, image)


@handles("VDI.create")
def vdi_create(ctx: CallContext, record: dict[str, Any]) -> str:
    fields = constructor_fields(ctx, "VDI", record)
    if not ctx.store.exists("SR", fields["SR"]):
        raise handle_invalid("SR", fields["SR"])
    if fields["virtual_size"] < 0:
        raise XapiError("INVALID_VALUE", "virtual_size", fields["virtual_size"])
    return new_vdi(ctx.store, fields)


def _attached_vbds(store: ObjectStore, vdi: str) -> list[str]:
    return [v for v in store.get("VDI", vdi)["VBDs"]
            if store.exists("VBD", v) and store.get("VBD", v)["currently_attached"]]


@handles("VDI.destroy")
def vdi_destroy(ctx: CallContext, vdi: str) -> None:
    store = ctx.store
    record = store.get("VDI", vdi)
    assert_sr_supports(store, record["SR"], "vdi_destroy")
    if _attached_vbds(store, vdi):
        raise XapiError("VDI_IN_USE", vdi, "destroy")
    store.destroy("VDI", vdi)
    for vbd in list(record["VBDs"]):  # XAPI destroys the (unattached) VBDs with it
        if store.exists("VBD", vbd):
            store.destroy("VBD", vbd)
    refresh_sr_usage(store, record["SR"])


@handles("VDI.resize")
def vdi_resize(ctx: CallContext, vdi: str, size: int) -> None:
    """Growing only (the SM backends refuse to shrink); while attached only on SRs
    whose driver (SM) has the VDI_RESIZE_ONLINE feature (XAPI's separate
    resize_online message is Removed in the published model)."""
    store = ctx.store
    record = store.get("VDI", vdi)
    sr = record["SR"]
    assert_sr_supports(store, sr, "vdi_resize")
    if _attached_vbds(store, vdi) and not resizes_online(store, sr):
        raise XapiError("VDI_IN_USE", vdi, "resize")
    if size < record["virtual_size"]:
        raise XapiError("SR_BACKEND_FAILURE", "VDISize", "",
                        "Shrinking a VDI is not supported")
    assert_room(store, sr, size - record["virtual_size"])
    store.update("VDI", vdi, virtual_size=size, physical_utilisation=size)
    refresh_sr_usage(store, sr)


@handles("VDI.clone", "VDI.copy")
def vdi_clone(ctx: CallContext, vdi: str, *rest: Any) -> str:
    store = ctx.store
    source = store.get("VDI", vdi)
    sr = rest[0] if ctx.message.name == "copy" and rest[0] != NULL_REF else source["SR"]
    return new_vdi(store, {**{k: source[k] for k in VDI_COPIED}, "SR": sr})


@handles("SR.scan")
def sr_scan(ctx: CallContext, sr: str) -> None:
    refresh_sr_usage(ctx.store, sr)
