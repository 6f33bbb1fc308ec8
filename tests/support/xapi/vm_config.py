"""VM construction, destruction, clone/copy/provision, templates, memory and
VCPU settings."""

from __future__ import annotations

import itertools
import uuid as uuidlib
from typing import Any

from .accessors import constructor_fields
from .errors import XapiError
from .registry import CallContext, handles
from .storage import copy_disks
from .store import ObjectStore
from .vif_net import new_vif
from .vm_power import HALTED, assert_operation, refresh_allowed
from .wire import NULL_REF, now

MEMORY_ORDER = "Memory limits must satisfy: static_min <= dynamic_min <= dynamic_max <= static_max"
VCPU_ORDER = "VCPU values must satisfy: 0 < VCPUs_at_startup <= VCPUs_max"


def check_memory(limits: dict[str, int]) -> None:
    order = [limits["memory_static_min"], limits["memory_dynamic_min"],
             limits["memory_dynamic_max"], limits["memory_static_max"]]
    if any(a > b for a, b in itertools.pairwise(order)) or order[0] < 0:
        raise XapiError("MEMORY_CONSTRAINT_VIOLATION", MEMORY_ORDER)


def check_vcpus(at_startup: int, vcpus_max: int) -> None:
    if vcpus_max < 1:
        raise XapiError("INVALID_VALUE", "VCPUs_max", vcpus_max)
    if not 0 < at_startup <= vcpus_max:
        raise XapiError("INVALID_VALUE", "VCPUs_at_startup", at_startup)


MEMORY_FIELDS = ("memory_static_min", "memory_dynamic_min", "memory_dynamic_max",
                 "memory_static_max")


def new_vm(store: ObjectStore, fields: dict[str, Any]) -> str:
    """A VM with its VM_metrics object, allowed operations computed."""
    other = dict(fields.get("other_config", {}))
    other.setdefault("mac_seed", str(uuidlib.uuid4()))  # XAPI seeds every VM's MACs
    fields = {**fields, "other_config": other}
    metrics = store.new("VM_metrics", {"install_time": now(), "last_updated": now(),
                                       "hvm": bool(fields.get("HVM_boot_policy"))})
    vm = store.new("VM", {"power_state": HALTED, "domid": -1, **fields, "metrics": metrics})
    refresh_allowed(store, vm)
    return vm


@handles("VM.create")
def create(ctx: CallContext, record: dict[str, Any]) -> str:
    fields = constructor_fields(ctx, "VM", record)
    check_memory({k: fields.get(k, 0) for k in MEMORY_FIELDS})
    check_vcpus(fields.get("VCPUs_at_startup", 1), fields.get("VCPUs_max", 1))
    fields.pop("power_state", None)  # a VM is created halted (suspended needs a suspend_VDI)
    return new_vm(ctx.store, fields)


@handles("VM.destroy")
def destroy(ctx: CallContext, vm: str) -> None:
    """Destroys the VM, its VBDs and VIFs (and metrics); its VDIs stay, as in XAPI."""
    store = ctx.store
    assert_operation(store, vm, "destroy")
    record = store.get("VM", vm)
    for child in list(record["children"]):  # children are rebased onto our parent
        store.set("VM", child, "parent", record["parent"])
    for vbd in list(record["VBDs"]):
        store.destroy("VBD", vbd)
    for vif in list(record["VIFs"]):
        store.destroy("VIF", vif)
    for console in list(record["consoles"]):
        store.destroy("console", console)
    if store.exists("VM_metrics", record["metrics"]):
        store.destroy("VM_metrics", record["metrics"])
    store.destroy("VM", vm)


NOT_COPIED = ("uuid", "VBDs", "VIFs", "consoles", "metrics", "guest_metrics", "resident_on",
              "allowed_operations", "current_operations", "children", "snapshots",
              "scheduled_to_be_resident_on", "domid", "power_state", "VGPUs", "VUSBs",
              "VTPMs", "crash_dumps", "attached_PCIs", "is_default_template")


def duplicate(ctx: CallContext, vm: str, new_name: str, sr: str | None) -> str:
    """clone (sr None: disks stay on their SRs) and copy (into sr, or the same SRs
    when sr is the null ref): new VDIs, VBDs and VIFs with new MACs."""
    store = ctx.store
    source = store.get("VM", vm)
    fields = {k: v for k, v in source.items() if k not in NOT_COPIED}
    fields.update(name_label=new_name, parent=vm if sr is None else NULL_REF,
                  other_config={k: v for k, v in source["other_config"].items()
                                if k != "mac_seed"})
    disk_map = copy_disks(store, source["VBDs"], sr)
    new = new_vm(store, fields)
    for vbd in source["VBDs"]:
        old = store.get("VBD", vbd)
        store.new("VBD", {
            **{k: old[k] for k in ("userdevice", "bootable", "mode", "type", "unpluggable",
                                   "empty", "other_config", "qos_algorithm_type",
                                   "qos_algorithm_params")},
            "VM": new, "VDI": disk_map.get(old["VDI"], old["VDI"]),
        })
    for vif in source["VIFs"]:
        old = store.get("VIF", vif)
        new_vif(store, {**{k: old[k] for k in ("device", "network", "MTU", "other_config",
                                                "qos_algorithm_type", "qos_algorithm_params",
                                                "locking_mode", "ipv4_allowed",
                                                "ipv6_allowed")},
                        "VM": new, "MAC": ""})
    refresh_allowed(store, new)
    return new


@handles("VM.clone")
def clone(ctx: CallContext, vm: str, new_name: str) -> str:
    assert_operation(ctx.store, vm, "clone")
    return duplicate(ctx, vm, new_name, None)


@handles("VM.copy")
def copy(ctx: CallContext, vm: str, new_name: str, sr: str) -> str:
    assert_operation(ctx.store, vm, "copy")
    return duplicate(ctx, vm, new_name, sr)


@handles("VM.provision")
def provision(ctx: CallContext, vm: str) -> None:
    """The template's other_config "disks" provision XML is NOT interpreted: no
    disks are created; the key is removed as XAPI does after provisioning."""
    store = ctx.store
    assert_operation(store, vm, "provision")
    other = store.get("VM", vm)["other_config"]
    store.set("VM", vm, "other_config", {k: v for k, v in other.items() if k != "disks"})


@handles("VM.set_is_a_template")
def set_is_a_template(ctx: CallContext, vm: str, value: bool) -> None:
    store = ctx.store
    if value:
        assert_operation(store, vm, "make_into_template")
    elif store.get("VM", vm)["is_a_snapshot"]:
        raise XapiError("VM_IS_SNAPSHOT", vm, "make_into_template")
    store.set("VM", vm, "is_a_template", value)
    refresh_allowed(store, vm)


def _set_memory(ctx: CallContext, vm: str, op: str, **values: int) -> None:
    store = ctx.store
    assert_operation(store, vm, op)
    record = store.get("VM", vm)
    limits = {k: record[k] for k in MEMORY_FIELDS}
    limits.update(values)
    check_memory(limits)
    store.update("VM", vm, **values)


@handles("VM.set_memory_limits")
def set_memory_limits(ctx: CallContext, vm: str, static_min: int, static_max: int,
                      dynamic_min: int, dynamic_max: int) -> None:
    _set_memory(ctx, vm, "changing_memory_limits", memory_static_min=static_min,
                memory_static_max=static_max, memory_dynamic_min=dynamic_min,
                memory_dynamic_max=dynamic_max)


@handles("VM.set_memory")
def set_memory(ctx: CallContext, vm: str, value: int) -> None:
    _set_memory(ctx, vm, "changing_memory_limits", memory_static_max=value,
                memory_dynamic_min=value, memory_dynamic_max=value)


@handles("VM.set_memory_static_max")
def set_memory_static_max(ctx: CallContext, vm: str, value: int) -> None:
    _set_memory(ctx, vm, "changing_static_range", memory_static_max=value)


@handles("VM.set_memory_static_min")
def set_memory_static_min(ctx: CallContext, vm: str, value: int) -> None:
    _set_memory(ctx, vm, "changing_static_range", memory_static_min=value)


@handles("VM.set_memory_static_range")
def set_memory_static_range(ctx: CallContext, vm: str, low: int, high: int) -> None:
    _set_memory(ctx, vm, "changing_static_range", memory_static_min=low,
                memory_static_max=high)


@handles("VM.set_memory_dynamic_max")
def set_memory_dynamic_max(ctx: CallContext, vm: str, value: int) -> None:
    _set_memory(ctx, vm, "changing_dynamic_range", memory_dynamic_max=value)


@handles("VM.set_memory_dynamic_min")
def set_memory_dynamic_min(ctx: CallContext, vm: str, value: int) -> None:
    _set_memory(ctx, vm, "changing_dynamic_range", memory_dynamic_min=value)


@handles("VM.set_memory_dynamic_range")
def set_memory_dynamic_range(ctx: CallContext, vm: str, low: int, high: int) -> None:
    _set_memory(ctx, vm, "changing_dynamic_range", memory_dynamic_min=low,
                memory_dynamic_max=high)


@handles("VM.set_VCPUs_max")
def set_vcpus_max(ctx: CallContext, vm: str, value: int) -> None:
    store = ctx.store
    assert_operation(store, vm, "changing_VCPUs")
    check_vcpus(store.get("VM", vm)["VCPUs_at_startup"], value)
    store.set("VM", vm, "VCPUs_max", value)


@handles("VM.set_VCPUs_at_startup")
def set_vcpus_at_startup(ctx: CallContext, vm: str, value: int) -> None:
    store = ctx.store
    assert_operation(store, vm, "changing_VCPUs")
    check_vcpus(value, store.get("VM", vm)["VCPUs_max"])
    store.set("VM", vm, "VCPUs_at_startup", value)


@handles("VM.set_VCPUs_number_live")
def set_vcpus_number_live(ctx: CallContext, vm: str, nvcpu: int) -> None:
    store = ctx.store
    assert_operation(store, vm, "changing_VCPUs_live")
    check_vcpus(nvcpu, store.get("VM", vm)["VCPUs_max"])
    store.set("VM", vm, "VCPUs_at_startup", nvcpu)
    metrics = store.get("VM", vm)["metrics"]
    if store.exists("VM_metrics", metrics):
        store.set("VM_metrics", metrics, "VCPUs_number", nvcpu)
