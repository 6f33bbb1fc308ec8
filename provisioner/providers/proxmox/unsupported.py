"""Fields of the common stack schema this provider cannot honour, and why.

Refused at plan time (``check``) and again at create, each with the way to
get the same result on Proxmox.
"""

from __future__ import annotations

from provisioner.core.address import Kind
from provisioner.core.resources import Resource

_GUEST = {
    "image": "Proxmox guests start from a template: use clone: with the template's name "
             "(qm template turns a VM into one)",
}
_DISK = {
    "image": "a disk cannot start from an image here: clone a template instead",
    "volume": "the proxmox provider serves no volumes: a disk belongs to its guest",
}
_NIC = {
    "network": "the proxmox provider serves no networks: attach the NIC with bridge: "
               "(a Linux bridge or an SDN VNet such as vmbr0)",
    "ip": "set the address with options.cloud_init.ipconfig (guests) or options.ipconfig "
          "(containers), such as ip=10.0.0.5/24,gw=10.0.0.1",
}
_CLOUD_INIT = ("Proxmox's API cannot receive cloud-init files: copy the file to a storage "
               "with content snippets (such as /var/lib/vz/snippets/ on each node) and name it "
               "in options.cloud_init.custom.user: local:snippets/FILE, or use "
               "options.cloud_init (user, ssh_keys, ipconfig)")


def unsupported(resource: Resource) -> list[str]:
    """One message per field set that the provider cannot honour."""
    spec = resource.spec
    found = []
    for key, why in _GUEST.items():
        if resource.kind is Kind.GUEST and spec.get(key) is not None:
            found.append(f"`{key}:` is not supported by the proxmox provider: {why}")
    for index, disk in enumerate(spec.get("disks") or []):
        for key, why in _DISK.items():
            if (disk or {}).get(key) is not None:
                found.append(f"disks[{index}].{key} is not supported here: {why}")
    for index, nic in enumerate(spec.get("networks") or []):
        for key, why in _NIC.items():
            if (nic or {}).get(key) is not None:
                found.append(f"networks[{index}].{key} is not supported here: {why}")
        if resource.kind is Kind.CONTAINER and (nic or {}).get("model"):
            found.append(f"networks[{index}].model does not apply to containers (their NICs "
                         "are veth pairs)")
    cloud_init = spec.get("cloud_init") or {}
    if any(value is not None for value in cloud_init.values()):
        found.append(f"cloud_init files are not supported here: {_CLOUD_INIT}")
    if resource.settings.get("wait_for") == "ip":
        found.append("wait_for: ip is not supported by the proxmox provider yet; static "
                     "addresses from ipconfig are in the `ip` attribute")
    return found
