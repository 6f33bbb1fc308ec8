"""How the fake prlctl prints what it holds: Parallels Desktop 20's JSON.

``vm_info`` is one element of ``prlctl list --info --json`` with the keys the
provider reads and a few around them, as the real program prints them (the
order of the keys included); ``networks`` is ``prlsrvctl net list --json``,
``server_info`` ``prlsrvctl info --json``.
"""

from __future__ import annotations

from typing import Any

SERVER_VERSION = "Desktop 20.1.2-55742"


def vm_info(vm: dict[str, Any]) -> dict[str, Any]:
    hardware: dict[str, Any] = {
        "cpu": {"cpus": vm["cpus"], "auto": "off", "VT-x": True, "hotplug": False,
                "accl": "high", "mode": "64", "type": "x86"},
        "memory": {"size": f"{vm['memory']}Mb", "auto": "off", "hotplug": False},
        "video": {"adapter-type": "parallels", "size": "0Mb", "3d-acceleration": "highest",
                  "vertical-sync": "on", "high-resolution": "off",
                  "automatic-video-memory": "on"},
        "memory_quota": {"auto": "on"},
    }
    for key, device in vm["devices"].items():
        hardware[key] = _device(key, device)
    hardware["usb"] = {"enabled": True}
    hardware["sound0"] = {"enabled": True, "output": "Default", "mixer": "Default"}
    return {
        "ID": vm["uuid"], "Name": vm["name"], "Description": vm["description"],
        "Type": "VM", "State": vm["state"], "OS": vm["os"], "Template": "no",
        "Uptime": "0", "Home path": f"{vm['home']}config.pvs", "Home": vm["home"],
        "Restore Image": "", "GuestTools": {"state": "not_installed"},
        "Startup and Shutdown": {"Autostart": "on" if vm["autostart"] else "off",
                                 "Autostart delay": 0, "Autostop": "suspend",
                                 "Startup view": "window", "On shutdown": "window",
                                 "On window close": "keep-running", "Pause idle": "off",
                                 "Undo disks": "off"},
        "Optimization": {"Faster virtual machine": "on", "Hypervisor type": "apple"},
        "Boot order": "hdd0 cdrom0 net0 ", "BIOS type": "efi-arm64",
        "EFI Secure boot": "off", "Allow select boot device": "off",
        "External boot device": "",
        "Hardware": hardware,
        "Host Shared Folders": {"enabled": False},
        "Network": {"Conditioned": "off", "ipAddresses": []},
    }


def _device(key: str, device: dict[str, Any]) -> dict[str, Any]:
    if key.startswith("hdd"):
        return {"enabled": True, "port": device["port"], "image": device["image"],
                "type": "expanded", "size": f"{device['size']}Mb", "online-compact": "on"}
    if key.startswith("cdrom"):
        return {"enabled": True, "port": device["port"], "image": device["image"],
                "state": "connected" if device["image"] else "disconnected"}
    found = {"enabled": True, "type": device["type"]}
    if device.get("iface"):
        found["iface"] = device["iface"]
    found |= {"mac": device["mac"], "card": device["card"]}
    if device["type"] == "shared":
        found["dhcp"] = "yes"
    return found


def networks(nets: list[dict[str, str]]) -> list[dict[str, str]]:
    return [{"Network ID": net["id"], "Type": net["type"], "Bound To": net["bound_to"]}
            for net in nets]


def server_info(home: str) -> dict[str, Any]:
    return {"ID": "{a9c5a1c6-4d3e-4b8a-9f0e-2c1d5e7b8a90}", "Hostname": "mac.local",
            "OS": "Mac OS X 14.6.1(23G93)", "Version": SERVER_VERSION,
            "Started as service": "off", "VM home": home,
            "Memory limit": {"mode": "auto"}, "Signed In": "yes"}
