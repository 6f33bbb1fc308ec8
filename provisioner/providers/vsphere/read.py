"""One VM's properties → the guest as the planner sees it (a LiveObject). Pure.

Values are normalized here so that a plan right after an apply shows no
changes: memory in bytes, disks in slot order with their datastore's name,
NICs with their port group's name and a lower-case MAC, folder and resource
pool as paths below their roots. What vSphere cannot report comes from the
ownership memo: the template a guest was cloned from, cloud-init labels, how
disks were provisioned, the declared images disks were copied from.
``autostart`` is not supported (the plan-time checks refuse it), so it reads
back as its default.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from provisioner.core.resources import PROTECTION_MARK, LiveObject
from provisioner.providers.kit.marker import Marker
from provisioner.providers.vsphere import devices, guestinfo
from provisioner.providers.vsphere.facts import Facts, VmRecord
from provisioner.providers.vsphere.ownership import extra_config
from provisioner.units import Bytes

MIB = 1024 * 1024
POWER = {"poweredOn": "running", "poweredOff": "stopped", "suspended": "suspended"}
ATTRIBUTES = ("moid", "uuid", "ip", "ips", "macs", "state", "host", "datastore", "folder",
              "tools", "cpu_hot_add", "cpu_hot_remove", "memory_hot_add")


def live_object(record: VmRecord, marker: Marker, notes: str, facts: Facts,
                provider: str) -> LiveObject:
    """The guest ``record`` tagged with ``marker``; ``notes`` is its annotation
    without the marker (ESXi)."""
    device_list = list(record.get("config.hardware.device", []))
    memo = marker.memo
    images = memo.get("images") or {}
    state = str(record.get("runtime.powerState", "poweredOff"))
    host = facts.name_of(_moid(record.get("runtime.host")))
    nic_list = devices.nics(device_list)
    spec: dict[str, Any] = {
        "cpus": int(record.get("config.hardware.numCPU", 1)),
        "memory": Bytes(int(record.get("config.hardware.memoryMB", 0)) * MIB),
        "image": images.get("image"),
        "clone": memo.get("clone"),
        "node": host,
        "disks": [_disk(disk, facts, images.get(f"disks[{index}].image"))
                  for index, disk in enumerate(devices.disks(device_list))],
        "networks": [_nic(nic, facts) for nic in nic_list],
        "cloud_init": guestinfo.read(extra_config(record.get("config.extraConfig")),
                                     memo.get("cloud_init")),
        "power": POWER.get(state, state),
        "autostart": False,
        "options": _options(record, notes, memo, facts, device_list),
    }
    return LiveObject(
        address=marker.address, provider=provider, name=record.name, id=record.moid,
        spec=spec, running=state == "poweredOn",
        attributes={**_attributes(record, facts, host, nic_list, state),
                    PROTECTION_MARK: marker.protected},
    )


def _moid(value: Any) -> str | None:
    return None if value is None else str(value._moId)


def _disk(disk: devices.Disk, facts: Facts, image: str | None) -> dict[str, Any]:
    datastore = facts.name_of(disk.datastore) or devices.datastore_name_of_file(disk.file)
    return {"size": Bytes(disk.size), "pool": datastore, "image": image, "volume": None,
            "format": None, "bus": disk.slot.kind, "slot": str(disk.slot)}


def _nic(nic: devices.Nic, facts: Facts) -> dict[str, Any]:
    return {"network": None, "host_network": devices.network_name(nic, facts), "bridge": None,
            "mac": nic.mac, "ip": None, "model": nic.model, "vlan": None, "firewall": None}


def _options(record: VmRecord, notes: str, memo: Mapping[str, Any], facts: Facts,
             device_list: list[Any]) -> dict[str, Any]:
    pool = _moid(record.get("resourcePool"))
    compute = facts.computes.get(facts.pools[pool].owner) if pool in facts.pools else None
    scsi = next((name for device in device_list
                 if (name := devices.scsi_type_name(device)) is not None), None)
    options: dict[str, Any] = {
        "guest_id": record.get("config.guestId"),
        "cores_per_socket": int(record.get("config.hardware.numCoresPerSocket", 1)),
        "cpu_hot_add": bool(record.get("config.cpuHotAddEnabled", False)),
        "cpu_hot_remove": bool(record.get("config.cpuHotRemoveEnabled", False)),
        "memory_hot_add": bool(record.get("config.memoryHotAddEnabled", False)),
        "notes": notes,
        "folder": facts.folder_path(_moid(record.get("parent"))),
        "resource_pool": facts.pool_path(pool),
        "cluster": compute.name if compute is not None and compute.cluster else None,
        "datastore": devices.datastore_name_of_file(
            str(record.get("config.files.vmPathName", ""))),
        "firmware": record.get("config.firmware") or "bios",
    }
    if scsi is not None:
        options["scsi_controller"] = scsi
    if memo.get("disk_provisioning"):
        options["disk_provisioning"] = memo["disk_provisioning"]
    return options


def _attributes(record: VmRecord, facts: Facts, host: str | None, nic_list: list[devices.Nic],
                state: str) -> dict[str, Any]:
    ips = [str(address) for nic in record.get("guest.net", [])
           for address in (getattr(nic, "ipAddress", None) or []) if ":" not in str(address)]
    primary = record.get("guest.ipAddress")
    return {
        "moid": record.moid,
        "uuid": record.get("config.instanceUuid"),
        "ip": str(primary) if primary and ":" not in str(primary) else (ips[0] if ips else None),
        "ips": ips,
        "macs": [nic.mac for nic in nic_list if nic.mac],
        "state": POWER.get(state, state),
        "host": host,
        "datastore": devices.datastore_name_of_file(str(record.get("config.files.vmPathName",
                                                                    ""))),
        "folder": facts.folder_path(_moid(record.get("parent"))),
        "tools": str(record.get("guest.toolsRunningStatus", "")),
        "cpu_hot_add": bool(record.get("config.cpuHotAddEnabled", False)),
        "cpu_hot_remove": bool(record.get("config.cpuHotRemoveEnabled", False)),
        "memory_hot_add": bool(record.get("config.memoryHotAddEnabled", False)),
    }


def image_live(record: VmRecord, marker: Marker, provider: str) -> LiveObject:
    """The image a template deployed from an OVA is (``ovaimages``)."""
    memo = marker.memo
    spec = {key: memo[key] for key in ("checksum", "format") if memo.get(key)}
    return LiveObject(address=marker.address, provider=provider, name=record.name,
                      id=record.moid, spec=spec,
                      attributes={"template": record.name, "format": "ova",
                                  "datastore": str(record.get("config.files.vmPathName", ""))})
