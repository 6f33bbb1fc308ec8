"""fakepve's running QEMU guests take hot-pluggable changes at once, as Proxmox VE does.

fakepve (test-only, AGPL) keeps every config change of a running VM pending
except a few options (name, description, tags, onboot, ...). Real Proxmox VE
then tries each pending change live (qemu-server's ``vmconfig_hotplug_pending``)
and leaves pending only what it cannot plug, by the VM's ``hotplug`` option
(default ``network,disk,usb``):

- ``netN``: added, removed or changed live with ``network`` hotplug; without
  it, a change of bridge, VLAN tag, firewall, rate or link state is still made
  live, a new NIC or a new model or MAC waits for a restart;
- ``scsiN``/``virtioN`` disks: added or removed live with ``disk`` hotplug
  (``ide``/``sata`` never; a size change is the resize call, always live);
- ``balloon`` (a non-zero target), ``cpulimit``, ``cpuunits``: live;
- everything else (cores, sockets, memory without ``memory`` hotplug, the CPU
  type, cloud-init options) waits for a restart.

``hotplug_like_pve(pve)`` makes a fake do the same, so that tests see what a
real cluster does. Containers are left alone: fakepve's LXC side already
applies exactly what PVE hot-plugs.
"""

from __future__ import annotations

import re
from typing import Any

DEFAULT_HOTPLUG = "network,disk,usb"
_LIVE_KEYS = ("cpulimit", "cpuunits")
_NET = re.compile(r"net\d+")
_DISK = re.compile(r"(scsi|virtio)\d+")
_NIC_LIVE_PROPS = ("bridge", "tag", "firewall", "rate", "link_down", "trunks")


def hotplug_like_pve(pve: Any) -> None:
    """After each config change of a running VM, plug what PVE would plug."""
    apply_config = pve._apply_config

    async def apply_then_plug(vm: Any, user: str, params: Any) -> Any:
        result = await apply_config(vm, user, params)
        if vm.status == "running":
            plug_pending(vm)
        return result

    pve._apply_config = apply_then_plug


def plug_pending(vm: Any) -> None:
    """Move the pending values a running PVE VM would take live into its config."""
    features = set(str(vm.config.get("hotplug", DEFAULT_HOTPLUG)).split(","))
    for key, value in list(vm.pending.items()):
        if _pluggable(key, value, vm.config.get(key), features):
            if value is None:
                vm.config.pop(key, None)
            else:
                vm.config[key] = value
            del vm.pending[key]


def _pluggable(key: str, value: Any, current: Any, features: set[str]) -> bool:
    if key in _LIVE_KEYS or key.startswith("unused"):
        return True
    if key == "balloon":
        return value is not None and str(value) != "0" and current is not None
    if _NET.fullmatch(key):
        return "network" in features or (value is not None and current is not None
                                         and _same_device(str(value), str(current)))
    if _DISK.fullmatch(key):
        return "disk" in features
    return False


def _same_device(new: str, old: str) -> bool:
    """Whether two NIC values differ only in what PVE changes on a live tap device."""
    def device(value: str) -> dict[str, str]:
        props = dict(part.split("=", 1) for part in value.split(",") if "=" in part)
        return {k: v for k, v in props.items() if k not in _NIC_LIVE_PROPS}
    return device(new) == device(old)
