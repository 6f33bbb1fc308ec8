"""How the fake VBoxManage prints what it holds: VirtualBox 7.0's output formats.

``vm_block`` is ``showvminfo``'s human-readable form (and one entry of ``list
-l vms``), with the keys the provider reads and a few around them as the real
program prints them; ``hdd_block`` one entry of ``list -l hdds``;
``machine_readable`` the ``--machinereadable`` keys the provider asks for.
"""

from __future__ import annotations

from typing import Any

_STATE_TEXT = {"poweroff": "powered off", "running": "running", "saved": "saved",
               "paused": "paused", "aborted": "aborted"}
SINCE = " (since 2026-01-01T00:00:00.000000000)"


def row(key: str, value: object) -> str:
    return f"{key + ':':<29}{value}"


def vm_block(vm: dict[str, Any], hdds: dict[str, Any], dvds: dict[str, Any]) -> str:
    lines = [row("Name", vm["name"]), row("Encryption", "disabled"),
             row("Groups", ",".join(vm["groups"]) or "/"),
             row("Platform Architecture", "x86"), row("Guest OS", f"Other ({vm['ostype']})"),
             row("UUID", vm["uuid"]), row("Config file", vm["config_file"]),
             row("Snapshot folder", vm["config_file"].rsplit("/", 1)[0] + "/Snapshots"),
             row("Hardware UUID", vm["uuid"]), row("Memory size", f"{vm['memory']}MB"),
             row("Page Fusion", "disabled"), row("VRAM size", "16MB"),
             row("CPU exec cap", "100%"), row("Chipset", "piix3"),
             row("Firmware", "EFI" if vm["firmware"] == "efi" else "BIOS"),
             row("Number of CPUs", vm["cpus"]), row("PAE", "enabled"),
             row("State", _STATE_TEXT.get(vm["state"], vm["state"]) + SINCE),
             row("Autostart Enabled", "enabled" if vm["autostart"] else "disabled"),
             row("Autostart Delay", 0), row("Default Frontend", ""),
             row("VM process priority", "default")]
    lines.append("Storage Controllers:")
    for number, (name, kind) in enumerate(vm["controllers"].items()):
        lines.append(f"#{number}: '{name}', Type: {kind}, Instance: 0, Ports: 30 (max 30), "
                     "Bootable")
        for attached in sorted((a for a in vm["attachments"] if a["controller"] == name),
                               key=lambda a: (a["port"], a["device"])):
            medium = hdds.get(attached["medium"]) or dvds.get(attached["medium"]) or {}
            lines.append(f"  Port {attached['port']}, Unit {attached['device']}: UUID: "
                         f"{attached['medium']}")
            lines.append(f"    Location: \"{medium.get('location', '')}\"")
    for slot in range(1, 9):
        nic = vm["nics"].get(str(slot))
        if nic is None or nic["kind"] == "none":
            lines.append(row(f"NIC {slot}", "disabled"))
            continue
        lines.append(row(f"NIC {slot}", f"MAC: {nic['mac']}, Attachment: {_attachment(nic)}, "
                         "Cable connected: on, Trace: off (file: none), Type: "
                         f"{nic['type']}, Reported speed: 0 Mbps, Boot priority: 0, Promisc "
                         "Policy: deny, Bandwidth group: none"))
        if nic["kind"] == "nat":
            lines.append(f"NIC {slot} Settings:  MTU: 0, Socket (send: 64, receive: 64), "
                         "TCP Window (send:64, receive: 64)")
        for index, rule in enumerate(nic["forwards"]):
            lines.append(f"NIC {slot} Rule({index}):   name = {rule['name']}, protocol = "
                         f"{rule['protocol']}, host ip = {rule['host_ip']}, host port = "
                         f"{rule['host_port']}, guest ip = {rule['guest_ip']}, guest port = "
                         f"{rule['guest_port']}")
    lines += [row("Pointing Device", "PS/2 Mouse"), row("Keyboard Device", "PS/2 Keyboard"),
              row("UART 1", "disabled"), row("Shared folders", "<none>"),
              row("Configured memory balloon", "0MB"), ""]
    return "\n".join(lines) + "\n"


def _attachment(nic: dict[str, Any]) -> str:
    kind, target = nic["kind"], nic.get("target")
    return {"nat": "NAT", "bridged": f"Bridged Interface '{target}'",
            "hostonly": f"Host-only Interface '{target}'",
            "intnet": f"Internal Network '{target}'",
            "natnetwork": f"NAT Network '{target}'"}.get(kind, "none")


def hdd_block(medium: dict[str, Any], users: list[dict[str, Any]]) -> str:
    lines = [f"UUID:           {medium['uuid']}", "Parent UUID:    base",
             "State:          created", "Type:           normal (base)",
             f"Location:       {medium['location']}",
             f"Storage format: {medium.get('format', 'VDI')}",
             "Format variant: dynamic default", f"Capacity:       {medium['capacity']} MBytes",
             "Encryption:     disabled"]
    if users:
        lines.append("In use by VMs:  " + ", ".join(f"{vm['name']} (UUID: {vm['uuid']})"
                                                     for vm in users))
    return "\n".join(lines) + "\n"


def machine_readable(vm: dict[str, Any]) -> str:
    return "\n".join([f'name="{vm["name"]}"', f'UUID="{vm["uuid"]}"',
                      f'CfgFile="{vm["config_file"]}"', f"memory={vm['memory']}",
                      f"cpus={vm['cpus']}", f'VMState="{vm["state"]}"',
                      'VMStateChangeTime="2026-01-01T00:00:00.000000000"']) + "\n"
