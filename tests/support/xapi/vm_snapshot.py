"""VM snapshots, checkpoints and revert, as xapi_vm_snapshot.ml and xapi_vm_clone.ml do them.

- ``VM.snapshot`` (any power state; not a template, snapshot or control domain):
  each disk VBD's VDI is snapshotted (``VDI.snapshot``: a new VDI with
  ``is_a_snapshot``, ``snapshot_of``, ``snapshot_time``, the source's
  ``other_config`` and content), CDs keep their image; a new VM record copies
  the VM with ``is_a_snapshot`` and ``is_a_template`` set, ``snapshot_of``,
  ``snapshot_time``, ``snapshot_info``, power Halted, its ``other_config`` and
  tags unchanged; VIFs are copied with their MACs; the VM's ``parent`` becomes
  the snapshot. ``ignore_vdis`` (a later parameter; XAPIs before it take two)
  leaves those disks out.
- ``VM.checkpoint`` (Running, Paused or Suspended): the same, plus the memory: a
  suspend image (a VDI of type ``suspend``, ``memory_static_max`` bytes, on the
  pool's ``suspend_image_SR`` or default SR) as the snapshot's ``suspend_VDI``;
  the snapshot is Suspended and the VM goes on running (XAPI suspends and
  resumes it around the copy).
- ``VM.revert`` (on the snapshot, any power state): the VM (its ``snapshot_of``)
  is hard-shut down, its VBDs destroyed and the disks the snapshot holds a
  snapshot of destroyed (disks added since stay, unattached), the snapshot's
  disks cloned into new VDIs (other snapshots of the old disks now point at the
  clones), VBDs and VIFs copied (MACs kept), the fields copied back but for
  tags, affinity and the snapshot bookkeeping; the VM ends in the snapshot's
  power state: Halted, or Suspended with a copy of its suspend image (a
  ``VM.resume`` then runs it where it was).

Not modelled: ``snapshot_metadata`` (a revert copies the snapshot record's own
fields, as XAPI does for snapshots taken before it kept the metadata), reverting
a snapshot whose VM is gone (XAPI makes a new VM; here VM_REVERT_FAILED), chain
limits (VM_HAS_TOO_MANY_SNAPSHOTS), quiesced snapshots, VMSS, vTPMs and vGPUs.
"""

from __future__ import annotations

from .errors import XapiError
from .registry import CallContext, handles
from .storage import (
    VDI_COPIED,
    assert_room,
    assert_sr_supports,
    destroy_vdi,
    drop_suspend_image,
    new_vdi,
)
from .store import ObjectStore
from .vif_net import new_vif
from .vm_config import new_vm
from .vm_power import HALTED, SUSPENDED, assert_operation, halt, refresh_allowed
from .wire import NULL_REF, now

VBD_COPIED = ("userdevice", "bootable", "mode", "type", "unpluggable", "empty",
              "other_config", "qos_algorithm_type", "qos_algorithm_params")
VIF_COPIED = ("device", "network", "MTU", "other_config", "qos_algorithm_type",
              "qos_algorithm_params", "locking_mode", "ipv4_allowed", "ipv6_allowed", "MAC")
NOT_SNAPSHOTTED = ("uuid", "VBDs", "VIFs", "consoles", "metrics", "guest_metrics",
                   "resident_on", "allowed_operations", "current_operations", "children",
                   "snapshots", "scheduled_to_be_resident_on", "domid", "power_state",
                   "VGPUs", "VUSBs", "VTPMs", "crash_dumps", "attached_PCIs", "suspend_VDI",
                   "is_default_template", "parent", "ha_always_run")
NOT_REVERTED = (*NOT_SNAPSHOTTED, "name_label", "is_a_snapshot", "is_a_template",
                "snapshot_of", "snapshot_time", "snapshot_info", "transportable_snapshot_id",
                "tags", "affinity", "protection_policy", "snapshot_schedule")
"""xapi_vm_snapshot.ml's do_not_copy and extended_do_not_copy."""


def snapshot_disk(ctx: CallContext, vdi: str) -> str:
    """VDI.snapshot: a point-in-time copy (of the content too) that names its source."""
    store = ctx.store
    source = store.get("VDI", vdi)
    assert_sr_supports(store, source["SR"], "vdi_snapshot")
    copy = new_vdi(store, {**{k: source[k] for k in VDI_COPIED}, "SR": source["SR"]})
    store.update("VDI", copy, is_a_snapshot=True, snapshot_of=vdi, snapshot_time=now())
    if vdi in ctx.sim.vdi_contents:
        ctx.sim.vdi_contents[copy] = ctx.sim.vdi_contents[vdi]
    return copy


def clone_disk(ctx: CallContext, vdi: str) -> str:
    """VDI.clone of a snapshot disk: a writable disk with its content."""
    store = ctx.store
    source = store.get("VDI", vdi)
    copy = new_vdi(store, {**{k: source[k] for k in VDI_COPIED}, "SR": source["SR"],
                           "read_only": False})
    if vdi in ctx.sim.vdi_contents:
        ctx.sim.vdi_contents[copy] = ctx.sim.vdi_contents[vdi]
    return copy


@handles("VDI.snapshot")
def vdi_snapshot(ctx: CallContext, vdi: str, driver_params: dict[str, str]) -> str:
    return snapshot_disk(ctx, vdi)


def _disk_vbds(store: ObjectStore, vm: str, ignore: list[str]) -> list[str]:
    return [vbd for vbd in store.get("VM", vm)["VBDs"]
            if store.get("VBD", vbd)["type"] == "Disk" and not store.get("VBD", vbd)["empty"]
            and store.get("VBD", vbd)["VDI"] not in ignore]


def _assert_room(store: ObjectStore, vdis: list[str], memory_sr: str | None,
                 memory: int) -> None:
    """SR_FULL before anything is made (all or nothing, as XAPI cleans up)."""
    needed: dict[str, int] = {}
    for vdi in vdis:
        record = store.get("VDI", vdi)
        needed[record["SR"]] = needed.get(record["SR"], 0) + record["virtual_size"]
    if memory_sr is not None:
        needed[memory_sr] = needed.get(memory_sr, 0) + memory
    for sr, size in needed.items():
        assert_room(store, sr, size)


def _suspend_sr(store: ObjectStore) -> str:
    pool = next(iter(store.all("pool").values()))
    sr = pool["suspend_image_SR"]
    return sr if store.exists("SR", sr) else pool["default_SR"]


def take(ctx: CallContext, vm: str, name: str, ignore: list[str], memory: bool) -> str:
    """The snapshot (with the memory: a checkpoint) of ``vm`` named ``name``."""
    store = ctx.store
    source = store.get("VM", vm)
    vbds = _disk_vbds(store, vm, ignore)
    memory_sr = _suspend_sr(store) if memory else None
    _assert_room(store, [store.get("VBD", v)["VDI"] for v in vbds], memory_sr,
                 source["memory_static_max"])
    disks = {vbd: snapshot_disk(ctx, store.get("VBD", vbd)["VDI"]) for vbd in vbds}
    state = source["power_state"]
    fields = {k: v for k, v in source.items() if k not in NOT_SNAPSHOTTED}
    fields.update(name_label=name, is_a_snapshot=True, is_a_template=True, snapshot_of=vm,
                  snapshot_time=now(), parent=source["parent"],
                  snapshot_info={"disk-snapshot-type": "crash_consistent",
                                 "power-state-at-snapshot": state})
    snap = new_vm(store, fields)
    for vbd in source["VBDs"]:
        old = store.get("VBD", vbd)
        if old["type"] == "Disk" and vbd not in disks:
            continue
        store.new("VBD", {**{k: old[k] for k in VBD_COPIED}, "VM": snap,
                          "VDI": disks.get(vbd, old["VDI"]),
                          "other_config": {**old["other_config"], "owner": ""}
                          if vbd in disks else old["other_config"]})
    for vif in source["VIFs"]:
        old = store.get("VIF", vif)
        new_vif(store, {**{k: old[k] for k in VIF_COPIED}, "VM": snap})
    if memory_sr is not None:
        image = new_vdi(store, {"name_label": f"Suspend image of {name}", "SR": memory_sr,
                                "virtual_size": source["memory_static_max"],
                                "type": "suspend", "sharable": False, "read_only": False,
                                "other_config": {}})
        store.update("VDI", image, is_a_snapshot=True, snapshot_time=now())
        store.update("VM", snap, suspend_VDI=image, power_state=SUSPENDED)
    store.set("VM", vm, "parent", snap)
    refresh_allowed(store, snap)
    return snap


@handles("VM.snapshot")
def snapshot(ctx: CallContext, vm: str, new_name: str, ignore_vdis: list[str]) -> str:
    assert_operation(ctx.store, vm, "snapshot")
    return take(ctx, vm, new_name, ignore_vdis, memory=False)


@handles("VM.checkpoint")
def checkpoint(ctx: CallContext, vm: str, new_name: str) -> str:
    assert_operation(ctx.store, vm, "checkpoint")
    return take(ctx, vm, new_name, [], memory=True)


@handles("VM.revert")
def revert(ctx: CallContext, snap: str) -> None:
    store = ctx.store
    assert_operation(store, snap, "revert")
    record = store.get("VM", snap)
    vm = record["snapshot_of"]
    if not store.exists("VM", vm):
        raise XapiError("VM_REVERT_FAILED", snap, vm)
    if store.get("VM", vm)["power_state"] != HALTED:
        halt(store, vm)  # XAPI hard-shuts the VM down first
    _revert_disks(ctx, snap, vm)
    for vif in list(store.get("VM", vm)["VIFs"]):
        store.destroy("VIF", vif)
    for vif in record["VIFs"]:
        old = store.get("VIF", vif)
        new_vif(store, {**{k: old[k] for k in VIF_COPIED}, "VM": vm})
    fields = {k: v for k, v in record.items() if k not in NOT_REVERTED}
    store.update("VM", vm, **fields, parent=snap)
    drop_suspend_image(store, vm)
    if record["power_state"] == SUSPENDED and store.exists("VDI", record["suspend_VDI"]):
        store.set("VM", vm, "suspend_VDI", clone_disk(ctx, record["suspend_VDI"]))
        halt(store, vm, SUSPENDED)
    refresh_allowed(store, vm)


def _revert_disks(ctx: CallContext, snap: str, vm: str) -> None:
    store = ctx.store
    snap_vbds = [store.get("VBD", v) for v in store.get("VM", snap)["VBDs"]]
    sources = {store.get("VDI", v["VDI"])["snapshot_of"] for v in snap_vbds
               if v["type"] == "Disk" and store.exists("VDI", v["VDI"])}
    for vbd in list(store.get("VM", vm)["VBDs"]):
        old_vdi = store.get("VBD", vbd)["VDI"]
        store.destroy("VBD", vbd)
        if old_vdi in sources and store.exists("VDI", old_vdi):
            destroy_vdi(store, old_vdi)
    disks = [v["VDI"] for v in snap_vbds if v["type"] == "Disk" and v["VDI"] != NULL_REF]
    _assert_room(store, disks, None, 0)
    for old in snap_vbds:
        vdi = old["VDI"]
        if old["type"] == "Disk" and vdi != NULL_REF:
            source = store.get("VDI", vdi)["snapshot_of"]
            vdi = clone_disk(ctx, vdi)
            for other in store.find("VDI", snapshot_of=source):
                store.set("VDI", other, "snapshot_of", vdi)
        store.new("VBD", {**{k: old[k] for k in VBD_COPIED}, "VM": vm, "VDI": vdi,
                          "currently_attached": False})
