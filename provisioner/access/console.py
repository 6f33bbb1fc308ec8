"""The command that attaches to a guest's serial console, where the hypervisor has one.

- libvirt: ``virsh -c URI console NAME`` (interactive; Ctrl-] leaves);
- qemu: the provider writes the console to ``serial.log``: follow it read-only
  (``tail -F``), as the guest's input is not connected;
- Proxmox, vSphere, XenServer: no console this command can reach; their own tools
  have one (the hint names them).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from provisioner.errors import UserError

ELSEWHERE = {
    "proxmox": "the web UI's console, or `qm terminal VMID` on the node (with a serial0)",
    "vsphere": "the vSphere client's web console",
    "xenserver": "Xen Orchestra's or XenCenter's console, or `xe console` on the host",
}


def console_command(provider_type: str, config: Any, stack: str, block: str, name: str,
                    stack_directory: Path | None) -> list[str]:
    """The argv that shows guest ``name``'s console; raises UserError where there is none."""
    if provider_type == "libvirt":
        return ["virsh", "-c", str(config.uri), "console", name]
    if provider_type == "qemu":
        from provisioner.providers.qemu.files import Tree, provider_root

        log = Tree(provider_root(config.dir, stack_directory), stack, block).guest(name)
        return ["tail", "-n", "100", "-F", str(log.serial_log)]
    where = ELSEWHERE.get(provider_type, "the hypervisor's own tools")
    raise UserError(f"the {provider_type} provider offers no console to attach to here",
                    hint=f"use {where}")
