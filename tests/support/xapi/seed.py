"""Objects a test lab needs: pool, hosts (with control domains, metrics, CPUs,
PIFs), SRs with PBDs, networks, templates and ordinary ("foreign") VMs.

Everything is created directly in the store (no RPC, no call log entries)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from .storage import new_vdi, refresh_sr_usage
from .store import ObjectStore
from .vif_net import new_vif
from .vm_config import new_vm
from .vm_power import boot, refresh_allowed, refresh_host_memory
from .wire import NULL_REF, now

GiB = 1024**3
MiB = 1024**2
DOM0_MEMORY = 2 * GiB
VM_SRS_OPS = ["scan", "destroy", "forget", "plug", "unplug", "update", "vdi_create",
              "vdi_introduce", "vdi_destroy", "vdi_resize", "vdi_clone", "vdi_snapshot",
              "vdi_mirror", "pbd_create", "pbd_destroy"]
ISO_SR_OPS = ["scan", "forget", "plug", "unplug", "update", "vdi_introduce", "pbd_create",
              "pbd_destroy"]
HVM_PLATFORM = {"acpi": "1", "apic": "true", "pae": "true", "viridian": "false",
                "nx": "true", "device-model": "qemu-upstream-compat"}


def pool_ref(store: ObjectStore, name: str = "lab") -> str:
    pools = list(store.all("pool"))
    if pools:
        return pools[0]
    return store.new("pool", {"name_label": name, "master": NULL_REF,
                              "default_SR": NULL_REF, "other_config": {}})


def vm_defaults(name: str, memory: int, vcpus: int) -> dict[str, Any]:
    """The fields XAPI's own templates and VMs carry, for an HVM guest."""
    return {
        "name_label": name, "name_description": "", "user_version": 1,
        "memory_static_min": min(memory, 512 * MiB), "memory_dynamic_min": memory,
        "memory_dynamic_max": memory, "memory_static_max": memory,
        "VCPUs_max": vcpus, "VCPUs_at_startup": vcpus, "VCPUs_params": {},
        "actions_after_shutdown": "destroy", "actions_after_reboot": "restart",
        "actions_after_crash": "restart", "HVM_boot_policy": "BIOS order",
        "HVM_boot_params": {"order": "cdn"}, "platform": dict(HVM_PLATFORM),
        "domain_type": "hvm", "PV_bootloader": "", "PV_kernel": "", "PV_ramdisk": "",
        "PV_args": "", "PV_bootloader_args": "", "PV_legacy_args": "", "PCI_bus": "",
        "other_config": {}, "recommendations": "", "affinity": NULL_REF,
        "is_a_template": False, "ha_always_run": False, "tags": [],
    }


def add_host(store: ObjectStore, name: str, memory: int, cpus: int) -> str:
    pool = pool_ref(store)
    index = len(store.all("host")) + 1
    metrics = store.new("host_metrics", {"memory_total": memory, "memory_free": memory,
                                         "live": True, "last_updated": now()})
    host = store.new("host", {
        "name_label": name, "hostname": name, "address": f"127.0.0.{index}",
        "enabled": True, "metrics": metrics, "API_version_major": 2,
        "API_version_minor": 21, "API_version_vendor": "XCP-ng",
        "software_version": {"product_brand": "XCP-ng", "product_version": "8.3.0",
                             "xapi": "25.6"},
        "cpu_info": {"cpu_count": str(cpus), "socket_count": "1", "vendor": "GenuineIntel"},
        "capabilities": ["xen-3.0-x86_64", "hvm-3.0-x86_64"], "sched_policy": "credit",
        "memory_overhead": 0, "other_config": {}, "logging": {}, "license_params": {},
    })
    for number in range(cpus):
        store.new("host_cpu", {"host": host, "number": number, "vendor": "GenuineIntel",
                               "modelname": "Simulated CPU", "speed": 2400})
    if store.get("pool", pool)["master"] == NULL_REF:
        store.set("pool", pool, "master", host)
    dom0 = new_vm(store, {**vm_defaults(f"Control domain on host: {name}", DOM0_MEMORY, 4),
                          "is_control_domain": True, "HVM_boot_policy": "",
                          "domain_type": "pv"})
    store.update("VM", dom0, power_state="Running", resident_on=host, domid=0)
    refresh_allowed(store, dom0)
    store.set("host", host, "control_domain", dom0)
    for network, record in store.all("network").items():
        if record["bridge"] == "xenbr0":
            _add_pif(store, host, network, "eth0", management=True)
    for sr, record in store.all("SR").items():
        if record["shared"]:
            store.new("PBD", {"SR": sr, "host": host, "currently_attached": True,
                              "device_config": {}})
    refresh_host_memory(store, host)
    return host


def _add_pif(store: ObjectStore, host: str, network: str, device: str,
             management: bool) -> str:
    octets = [0x02, 0x00, 0x00, len(store.all("PIF")) & 0xFF, 0x00, 0x01]
    return store.new("PIF", {
        "device": device, "host": host, "network": network, "VLAN": -1, "MTU": 1500,
        "MAC": ":".join(f"{o:02x}" for o in octets), "physical": True,
        "currently_attached": True, "management": management,
        "ip_configuration_mode": "DHCP", "metrics": NULL_REF})


def add_network(store: ObjectStore, name: str, bridge: str,
                other_config: dict[str, str] | None = None) -> str:
    network = store.new("network", {"name_label": name, "bridge": bridge, "MTU": 1500,
                                    "other_config": other_config or {}})
    if bridge == "xenbr0":
        for host in store.all("host"):
            _add_pif(store, host, network, "eth0", management=True)
    return network


def add_sr(store: ObjectStore, name: str, size: int, sr_type: str, shared: bool,
           host: str | None, content_type: str = "user") -> str:
    iso = content_type == "iso"
    sr = store.new("SR", {
        "name_label": name, "type": sr_type, "shared": shared, "physical_size": size,
        "content_type": content_type, "allowed_operations": ISO_SR_OPS if iso else VM_SRS_OPS,
        "other_config": {}, "sm_config": {}})
    hosts = list(store.all("host")) if shared or host is None else [host]
    for each in hosts:
        store.new("PBD", {"SR": sr, "host": each, "currently_attached": True,
                          "device_config": {}})
    pool = pool_ref(store)
    if not iso and store.get("pool", pool)["default_SR"] == NULL_REF:
        store.set("pool", pool, "default_SR", sr)
    refresh_sr_usage(store, sr)
    return sr


def add_disk(store: ObjectStore, vm: str, sr: str, size: int, userdevice: str,
             name: str | None = None) -> str:
    vdi = new_vdi(store, {"name_label": name or f"{store.get('VM', vm)['name_label']} "
                          f"disk {userdevice}", "SR": sr, "virtual_size": size,
                          "type": "user", "sharable": False, "read_only": False,
                          "other_config": {}})
    return store.new("VBD", {"VM": vm, "VDI": vdi, "userdevice": userdevice,
                             "bootable": userdevice == "0", "mode": "RW", "type": "Disk",
                             "empty": False, "other_config": {}})


def add_vm(store: ObjectStore, name: str, memory: int, vcpus: int, disks: Sequence[int],
           sr: str | None, template: bool = False, default_template: bool = False,
           other_config: dict[str, str] | None = None, networks: Sequence[str] = (),
           ) -> str:
    if disks and sr is None:
        sr = store.get("pool", pool_ref(store))["default_SR"]
    vm = new_vm(store, {**vm_defaults(name, memory, vcpus), "is_a_template": template,
                        "is_default_template": default_template,
                        "other_config": dict(other_config or {})})
    for index, size in enumerate(disks):
        assert sr is not None
        add_disk(store, vm, sr, size, str(index))
    for device, network in enumerate(networks):
        new_vif(store, {"VM": vm, "network": network, "device": str(device), "MAC": "",
                        "MTU": 1500, "other_config": {}})
    return vm


def start_vm(store: ObjectStore, vm: str, host: str) -> None:
    boot(store, vm, host, paused=False)

