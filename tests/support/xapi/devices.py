"""allowed_operations of VBDs and VIFs, which follow their VM's power state."""

from __future__ import annotations

from .store import ObjectStore


def _vm_running(store: ObjectStore, vm: str) -> bool:
    return store.exists("VM", vm) and store.get("VM", vm)["power_state"] == "Running"


def refresh_vbd_ops(store: ObjectStore, vbd: str) -> None:
    record = store.get("VBD", vbd)
    ops: list[str] = []
    if _vm_running(store, record["VM"]):
        ops.append("unplug" if record["currently_attached"] else "plug")
    if record["type"] == "CD":
        ops.append("insert" if record["empty"] else "eject")
    store.set("VBD", vbd, "allowed_operations", ops)


def refresh_vif_ops(store: ObjectStore, vif: str) -> None:
    record = store.get("VIF", vif)
    ops: list[str] = []
    if _vm_running(store, record["VM"]):
        ops.append("unplug" if record["currently_attached"] else "plug")
    store.set("VIF", vif, "allowed_operations", ops)


def refresh_devices(store: ObjectStore, vm: str) -> None:
    record = store.get("VM", vm)
    for vbd in record["VBDs"]:
        refresh_vbd_ops(store, vbd)
    for vif in record["VIFs"]:
        refresh_vif_ops(store, vif)
