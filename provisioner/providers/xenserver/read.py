"""One VM's records → the guest as the planner sees it (a LiveObject). Pure.

Values are normalized here so that a plan right after an apply shows no
changes: sizes in bytes, disks in device order with their SR's name, NICs
with their network's name and bridge and a lower-case MAC. ``cpus`` is
``VCPUs_at_startup``, ``memory`` is ``memory_dynamic_max`` (what the guest gets);
``options.cpus_max``, ``memory_max`` and ``memory_min`` are ``VCPUs_max``,
``memory_static_max`` and ``memory_dynamic_min`` (compared only where the stack
sets them). ``autostart`` is XCP-ng's and XenServer's convention,
``other_config:auto_poweron``. What XAPI cannot report comes from the ownership
memo (the template); the cloud-init config drive's digests from the drive's own
marker (its content is not read back).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from provisioner.core.resources import PROTECTION_MARK, Blob, LiveObject
from provisioner.core.specs import GuestSpec
from provisioner.providers.kit.marker import Marker
from provisioner.providers.xenserver.facts import Pool, Record, number
from provisioner.providers.xenserver.ownership import TAG_PREFIX, marker_of
from provisioner.units import Bytes

POWER = {"Running": "running", "Halted": "stopped", "Suspended": "suspended",
         "Paused": "paused"}
ATTRIBUTES = ("ref", "uuid", "ip", "ips", "macs", "state", "host", "online_resize",
              "memory_static_min")
AUTOSTART_KEY = "auto_poweron"
DRIVE_KEY = "config_drive"
"""The memo key that marks a guest's cloud-init config drive (its marker's memo)."""
CLOUD_INIT_FIELDS = ("user_data", "meta_data", "network_config")


def is_config_drive(vdi: Record | None) -> bool:
    marker = None if vdi is None else marker_of(vdi)
    return marker is not None and DRIVE_KEY in marker.memo


def memo_of(guest: GuestSpec, options: Any) -> dict[str, Any]:
    """What the VM's marker remembers of the guest: its template, and a full copy."""
    memo: dict[str, Any] = {"clone": guest.clone} if guest.clone else {}
    if options.full_copy:
        memo["copy"] = True
    return memo


def live_object(ref: str, vm: Record, marker: Marker, pool: Pool, provider: str) -> LiveObject:
    """The guest ``vm`` (reference ``ref``) tagged with ``marker``."""
    state = str(vm.get("power_state", "Halted"))
    disks = [(vbd, vdi) for _, vbd, vdi in pool.disks(vm)]
    own = [(vbd, vdi) for vbd, vdi in disks if not is_config_drive(vdi)]
    drive = next((vdi for _, vdi in disks if is_config_drive(vdi)), None)
    nics = [vif for _, vif in pool.nics(vm)]
    other = vm.get("other_config") or {}
    spec: dict[str, Any] = {
        "cpus": number(vm.get("VCPUs_at_startup"), 1),
        "memory": Bytes(number(vm.get("memory_dynamic_max"))),
        "image": None,
        "clone": marker.memo.get("clone"),
        "node": pool.name("host", vm.get("affinity")),
        "disks": [_disk(vdi, pool) for _vbd, vdi in own],
        "networks": [_nic(vif, pool) for vif in nics],
        "cloud_init": _cloud_init(drive),
        "power": POWER.get(state, state.lower()),
        "autostart": str(other.get(AUTOSTART_KEY, "false")).lower() == "true",
        "options": _options(vm, marker.memo),
    }
    return LiveObject(
        address=marker.address, provider=provider, name=str(vm.get("name_label", "")), id=ref,
        spec=spec, running=state == "Running",
        attributes={**_attributes(ref, vm, pool, nics, own, state),
                    PROTECTION_MARK: marker.protected})


def _disk(vdi: Record | None, pool: Pool) -> dict[str, Any]:
    size = number(vdi.get("virtual_size")) if vdi is not None else 0
    sr = pool.name("SR", vdi.get("SR")) if vdi is not None else None
    # no slot: XAPI numbers disks itself, and the stack cannot say one
    return {"size": Bytes(size), "pool": sr, "image": None, "volume": None, "format": None,
            "bus": None, "slot": None}


def _nic(vif: Record, pool: Pool) -> dict[str, Any]:
    network = pool.get("network", vif.get("network")) or {}
    return {"network": None, "host_network": network.get("name_label"),
            "bridge": network.get("bridge") or None, "mac": str(vif.get("MAC", "")).lower(),
            "ip": None, "model": None, "vlan": None, "firewall": None}


def _cloud_init(drive: Record | None) -> dict[str, Blob | None] | None:
    marker = None if drive is None else marker_of(drive)
    if marker is None:
        return None
    written = marker.memo.get(DRIVE_KEY) or {}
    found: dict[str, Blob | None] = {}
    for key in CLOUD_INIT_FIELDS:
        value = written.get(key) if isinstance(written, Mapping) else None
        if isinstance(value, Mapping) and value.get("digest"):  # as JSON, or ...
            value = Blob(str(value.get("label", key)), str(value["digest"]), b"")
        found[key] = Blob(value.label, value.digest, b"") if isinstance(value, Blob) else None
    return found


def _options(vm: Record, memo: Mapping[str, Any]) -> dict[str, Any]:
    tags = sorted(str(tag) for tag in vm.get("tags") or () if not str(tag).startswith(TAG_PREFIX))
    platform: dict[str, Any] = dict(vm.get("platform") or {})
    xenstore: dict[str, Any] = {str(key): str(value) for key, value in
                                (vm.get("xenstore_data") or {}).items()
                                if str(key).startswith("vm-data/")}
    boot = dict(vm.get("HVM_boot_params") or {})
    return {
        "full_copy": bool(memo.get("copy")),
        "cpus_max": number(vm.get("VCPUs_max"), 1),
        "memory_max": Bytes(number(vm.get("memory_static_max"))),
        "memory_min": Bytes(number(vm.get("memory_dynamic_min"))),
        "firmware": boot.get("firmware") or "bios",
        "boot_order": boot.get("order"),
        "platform": platform,
        "xenstore_data": xenstore,
        "tags": tags,
        "description": str(vm.get("name_description", "")),
    }


def _attributes(ref: str, vm: Record, pool: Pool, nics: list[Record],
                own: list[tuple[Record, Record | None]], state: str) -> dict[str, Any]:
    metrics = pool.get("VM_guest_metrics", vm.get("guest_metrics")) or {}
    networks = metrics.get("networks") or {}
    ips = [str(address) for key, address in sorted(networks.items())
           if "/ipv4/" in str(key) or str(key).endswith("/ip")]
    return {
        "ref": ref,
        "uuid": vm.get("uuid"),
        "ip": ips[0] if ips else None,
        "ips": ips,
        "macs": [str(nic.get("MAC", "")).lower() for nic in nics if nic.get("MAC")],
        "state": POWER.get(state, state.lower()),
        "host": pool.name("host", vm.get("resident_on")),
        "memory_static_min": number(vm.get("memory_static_min")),
        "online_resize": [vdi is not None and pool.online_resize(vdi.get("SR"))
                          for _, vdi in own],
    }
