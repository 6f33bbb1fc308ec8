"""VM power states, the operations each state allows, placement on hosts and
the start/stop/suspend/pause family.

The power-state table restates what xapi_vm_lifecycle.ml documents for each
vm_operations value (as data, for the operations the simulator knows).
"""

from __future__ import annotations

from typing import Any

from .devices import refresh_devices
from .errors import XapiError
from .registry import CallContext, handles
from .storage import drop_suspend_image
from .store import ObjectStore
from .wire import NULL_REF, now

HALTED, RUNNING, PAUSED, SUSPENDED = "Halted", "Running", "Paused", "Suspended"
LIVE = (RUNNING, PAUSED)  # states with a domain on a host

OP_POWER_STATES: dict[str, tuple[str, ...]] = {
    "start": (HALTED,), "start_on": (HALTED,), "provision": (HALTED,),
    "make_into_template": (HALTED,), "changing_NVRAM": (HALTED,),
    "changing_shadow_memory": (HALTED,), "create_vtpm": (HALTED,),
    "changing_VCPUs": (HALTED,), "changing_static_range": (HALTED,),
    "changing_memory_limits": (HALTED,),
    "unpause": (PAUSED,), "resume": (SUSPENDED,), "resume_on": (SUSPENDED,),
    "clean_reboot": (RUNNING,), "clean_shutdown": (RUNNING,), "pause": (RUNNING,),
    "suspend": (RUNNING,), "changing_VCPUs_live": (RUNNING,),
    "changing_memory_live": (RUNNING,), "pool_migrate": (RUNNING,),
    "send_sysrq": (RUNNING,), "send_trigger": (RUNNING,), "call_plugin": (RUNNING,),
    "changing_dynamic_range": (HALTED, RUNNING),
    "clone": (HALTED,), "copy": (HALTED,),
    "destroy": (HALTED, SUSPENDED), "export": (HALTED, SUSPENDED),
    "hard_reboot": (PAUSED, RUNNING),
    "shutdown": (PAUSED, SUSPENDED, RUNNING), "hard_shutdown": (PAUSED, SUSPENDED, RUNNING),
    "checkpoint": (PAUSED, SUSPENDED, RUNNING),
    "migrate_send": (HALTED, SUSPENDED, RUNNING),
    "snapshot": (HALTED, RUNNING, PAUSED, SUSPENDED),
    "revert": (HALTED, RUNNING, PAUSED, SUSPENDED),
    "metadata_export": (HALTED, RUNNING, PAUSED, SUSPENDED),
    "power_state_reset": (HALTED, RUNNING, PAUSED, SUSPENDED),
}
# what a template may still do (destroy only when it is not a default template)
TEMPLATE_OPS = ("clone", "copy", "export", "metadata_export", "provision")
# what a snapshot may do (xapi_vm_lifecycle.ml's check_snapshot)
SNAPSHOT_OPS = ("revert", "clone", "copy", "export", "destroy", "hard_shutdown",
                "metadata_export")
# what a control domain may do
CONTROL_DOMAIN_OPS = ("changing_dynamic_range", "changing_memory_limits",
                      "changing_static_range", "changing_memory_live", "metadata_export",
                      "start", "start_on", "changing_VCPUs")


def operation_error(store: ObjectStore, vm: str, op: str) -> XapiError | None:
    record = store.get("VM", vm)
    state = record["power_state"]
    if record["is_control_domain"]:
        if op == "destroy":
            return XapiError("OPERATION_NOT_ALLOWED", "This operation is not allowed on dom0")
        if op not in CONTROL_DOMAIN_OPS:
            return XapiError("OPERATION_NOT_ALLOWED",
                             "This operation is not allowed on a control domain")
    allowed = OP_POWER_STATES.get(op, ())
    if record["is_control_domain"] and op in ("changing_VCPUs", "changing_static_range",
                                              "changing_memory_limits"):
        allowed = (HALTED, RUNNING)
    if state not in allowed:
        return XapiError("VM_BAD_POWER_STATE", vm, ", ".join(s.lower() for s in allowed),
                         state.lower())
    if record["is_a_snapshot"]:
        if op not in SNAPSHOT_OPS:
            return XapiError("VM_IS_SNAPSHOT", vm, op)
    elif record["is_a_template"] and op not in TEMPLATE_OPS and not (
            op == "destroy" and not record["is_default_template"]):
        return XapiError("VM_IS_TEMPLATE", vm, op)
    if op == "revert" and not record["is_a_snapshot"]:
        return XapiError("REVERT_ONLY_ALLOWED_ON_SNAPSHOT")
    if op in record["blocked_operations"]:
        return XapiError("OPERATION_BLOCKED", vm, record["blocked_operations"][op])
    return None


def assert_operation(store: ObjectStore, vm: str, op: str) -> None:
    error = operation_error(store, vm, op)
    if error is not None:
        raise error


def refresh_allowed(store: ObjectStore, vm: str) -> None:
    ops = [op for op in OP_POWER_STATES if operation_error(store, vm, op) is None]
    store.set("VM", vm, "allowed_operations", ops)


def resident_memory(store: ObjectStore, host: str) -> int:
    return sum(vm["memory_static_max"] for vm in store.all("VM").values()
               if vm["resident_on"] == host and vm["power_state"] in LIVE)


def free_memory(store: ObjectStore, host: str) -> int:
    metrics = store.get("host", host)["metrics"]
    total = store.get("host_metrics", metrics)["memory_total"] if metrics != NULL_REF else 0
    return max(0, total - resident_memory(store, host))


def refresh_host_memory(store: ObjectStore, host: str) -> None:
    if host != NULL_REF and store.exists("host", host):
        metrics = store.get("host", host)["metrics"]
        if metrics != NULL_REF:
            store.set("host_metrics", metrics, "memory_free", free_memory(store, host))


def needed_memory(store: ObjectStore, vm: str) -> int:
    return int(store.get("VM", vm)["memory_static_max"])


def choose_host(store: ObjectStore, vm: str, host: str | None) -> str:
    """The host a VM boots on: the one asked for, else its affinity host when it
    fits, else the first enabled host with room (the pool master first)."""
    need = needed_memory(store, vm)
    if host is not None:
        available = free_memory(store, host)
        if need > available:
            raise XapiError("HOST_NOT_ENOUGH_FREE_MEMORY", need, available)
        return host
    affinity = store.get("VM", vm)["affinity"]
    candidates: list[str] = [affinity] if store.exists("host", affinity) else []
    pools = list(store.all("pool").values())
    master = pools[0]["master"] if pools else NULL_REF
    candidates += sorted(store.all("host"), key=lambda h: h != master)
    for candidate in candidates:
        if store.get("host", candidate)["enabled"] and need <= free_memory(store, candidate):
            return candidate
    raise XapiError("NO_HOSTS_AVAILABLE")


def _set_devices_attached(store: ObjectStore, vm: str, attached: bool) -> None:
    record = store.get("VM", vm)
    for vbd in record["VBDs"]:
        store.set("VBD", vbd, "currently_attached", attached)
    for vif in record["VIFs"]:
        store.set("VIF", vif, "currently_attached", attached)
    refresh_devices(store, vm)


def _metrics(store: ObjectStore, vm: str, **values: Any) -> None:
    metrics = store.get("VM", vm)["metrics"]
    if metrics != NULL_REF and store.exists("VM_metrics", metrics):
        store.update("VM_metrics", metrics, **values)


def boot(store: ObjectStore, vm: str, host: str, paused: bool) -> None:
    record = store.get("VM", vm)
    domid = 1 + max((v["domid"] for v in store.all("VM").values()), default=0)
    store.update("VM", vm, power_state=PAUSED if paused else RUNNING, resident_on=host,
                 domid=domid, scheduled_to_be_resident_on=NULL_REF)
    _set_devices_attached(store, vm, True)
    _metrics(store, vm, start_time=now(), memory_actual=record["memory_dynamic_max"],
             VCPUs_number=record["VCPUs_at_startup"], last_updated=now())
    refresh_host_memory(store, host)
    refresh_allowed(store, vm)


def halt(store: ObjectStore, vm: str, state: str = HALTED) -> None:
    host = store.get("VM", vm)["resident_on"]
    store.update("VM", vm, power_state=state, resident_on=NULL_REF, domid=-1)
    _set_devices_attached(store, vm, False)
    _metrics(store, vm, memory_actual=0, VCPUs_number=0, last_updated=now())
    refresh_host_memory(store, host)
    refresh_allowed(store, vm)


@handles("VM.start")
def start(ctx: CallContext, vm: str, start_paused: bool, force: bool) -> None:
    assert_operation(ctx.store, vm, "start")
    boot(ctx.store, vm, choose_host(ctx.store, vm, None), start_paused)


@handles("VM.start_on")
def start_on(ctx: CallContext, vm: str, host: str, start_paused: bool, force: bool) -> None:
    assert_operation(ctx.store, vm, "start_on")
    boot(ctx.store, vm, choose_host(ctx.store, vm, host), start_paused)


@handles("VM.resume")
def resume(ctx: CallContext, vm: str, start_paused: bool, force: bool) -> None:
    assert_operation(ctx.store, vm, "resume")
    boot(ctx.store, vm, choose_host(ctx.store, vm, None), start_paused)
    drop_suspend_image(ctx.store, vm)


@handles("VM.resume_on")
def resume_on(ctx: CallContext, vm: str, host: str, start_paused: bool, force: bool) -> None:
    assert_operation(ctx.store, vm, "resume_on")
    boot(ctx.store, vm, choose_host(ctx.store, vm, host), start_paused)
    drop_suspend_image(ctx.store, vm)


@handles("VM.clean_shutdown", "VM.hard_shutdown", "VM.shutdown")
def shutdown(ctx: CallContext, vm: str) -> None:
    assert_operation(ctx.store, vm, ctx.message.name)
    halt(ctx.store, vm)


@handles("VM.clean_reboot", "VM.hard_reboot")
def reboot(ctx: CallContext, vm: str) -> None:
    store = ctx.store
    assert_operation(store, vm, ctx.message.name)
    domid = 1 + max((v["domid"] for v in store.all("VM").values()), default=0)
    store.update("VM", vm, power_state=RUNNING, domid=domid)
    _metrics(store, vm, start_time=now())
    refresh_allowed(store, vm)


@handles("VM.suspend")
def suspend(ctx: CallContext, vm: str) -> None:
    assert_operation(ctx.store, vm, "suspend")
    halt(ctx.store, vm, SUSPENDED)


@handles("VM.pause")
def pause(ctx: CallContext, vm: str) -> None:
    assert_operation(ctx.store, vm, "pause")
    ctx.store.set("VM", vm, "power_state", PAUSED)
    refresh_allowed(ctx.store, vm)
    refresh_devices(ctx.store, vm)


@handles("VM.unpause")
def unpause(ctx: CallContext, vm: str) -> None:
    assert_operation(ctx.store, vm, "unpause")
    ctx.store.set("VM", vm, "power_state", RUNNING)
    refresh_allowed(ctx.store, vm)
    refresh_devices(ctx.store, vm)


@handles("VM.power_state_reset")
def power_state_reset(ctx: CallContext, vm: str) -> None:
    halt(ctx.store, vm)


@handles("VM.assert_operation_valid")
def assert_operation_valid(ctx: CallContext, vm: str, op: str) -> None:
    assert_operation(ctx.store, vm, op)


@handles("VM.update_allowed_operations")
def update_allowed_operations(ctx: CallContext, vm: str) -> None:
    refresh_allowed(ctx.store, vm)


@handles("VM.assert_can_boot_here")
def assert_can_boot_here(ctx: CallContext, vm: str, host: str) -> None:
    choose_host(ctx.store, vm, host)


@handles("VM.get_possible_hosts")
def get_possible_hosts(ctx: CallContext, vm: str) -> list[str]:
    need = needed_memory(ctx.store, vm)
    return [h for h in ctx.store.all("host") if need <= free_memory(ctx.store, h)]


@handles("host.compute_free_memory")
def compute_free_memory(ctx: CallContext, host: str) -> int:
    ctx.store.get("host", host)
    return free_memory(ctx.store, host)
