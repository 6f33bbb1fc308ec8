"""Fields of the common stack schema this provider cannot honour, and why.

Refused at plan time (``check``) and again at create, each with the way to
get the same result on Proxmox.
"""

from __future__ import annotations

from provisioner.core.address import Kind
from provisioner.core.resources import Resource
from provisioner.core.specs import ContainerSpec, GuestSpec
from provisioner.providers.kit.images import declared_images
from provisioner.providers.proxmox import GuestOptions
from provisioner.providers.proxmox.specs import options_of

_GUEST = {
    "image": "a Proxmox guest starts from an image declared under images: (imported into a "
             "storage, then copied into its disk) or from a template: use clone: with the "
             "template's name (qm template turns a VM into one)",
}
_DISK = {
    "image": "a disk starts only from an image declared under images: (or clone a template)",
    "volume": "the proxmox provider serves no volumes: a disk belongs to its guest",
}
_NIC = {
    "network": "the proxmox provider serves no networks: attach the NIC with bridge: "
               "(a Linux bridge or an SDN VNet such as vmbr0)",
    "ip": "set the address with options.cloud_init.ipconfig (guests) or options.ipconfig "
          "(containers), such as ip=10.0.0.5/24,gw=10.0.0.1",
    "forwards": "port forwards are for QEMU's user-mode networks (qemu provider)",
}
_HINTS = {"forwards": "leave `forwards:` out and reach the guest at its address on the bridge"}


def hint_for(path: str) -> str:
    """The next step for an unsupported field (by its last key); empty when the
    summary says it."""
    return _HINTS.get(path.rsplit(".", 1)[-1], "")
_CLOUD_INIT = ("Proxmox's API cannot receive cloud-init files: copy the file to a storage "
               "with content snippets (such as /var/lib/vz/snippets/ on each node) and name it "
               "in options.cloud_init.custom.user: local:snippets/FILE, or use "
               "options.cloud_init (user, ssh_keys, ipconfig)")


def unsupported(resource: Resource) -> list[tuple[str, str]]:
    """(field, what is wrong) per field set that the provider cannot honour."""
    container = resource.kind is Kind.CONTAINER
    networks = ContainerSpec.of(resource.spec).networks if container else \
        GuestSpec.of(resource.spec).networks
    found = []
    guest = None if container else GuestSpec.of(resource.spec)
    images = declared_images(resource)
    if guest is not None and guest.image is not None:
        if "image" not in images:
            found.append(("image", f"names no declared image: {_GUEST['image']}"))
        elif not guest.disks:
            found.append(("image", "needs a disk to go on here: declare disks: with the size "
                                   "of the first (the image is copied into it)"))
        elif guest.clone is not None:
            found.append(("image", "and clone: both make the disks: keep one"))
    for index, disk in enumerate(guest.disks if guest is not None else ()):
        image = None if f"disks[{index}].image" in images else disk.image
        declared = {"image": image, "volume": disk.volume}
        found += [(f"disks[{index}].{key}", f"is not supported here: {why}")
                  for key, why in _DISK.items() if declared[key] is not None]
    for index, nic in enumerate(networks):
        declared_nic = {"network": nic.network, "ip": nic.ip, "forwards": nic.forwards or None}
        found += [(f"networks[{index}].{key}", f"is not supported here: {why}")
                  for key, why in _NIC.items() if declared_nic[key] is not None]
        if container and nic.model:
            found.append((f"networks[{index}].model", "does not apply to containers (their "
                          "NICs are veth pairs)"))
    cloud_init = guest.cloud_init if guest is not None else None
    if cloud_init is not None and any((cloud_init.user_data, cloud_init.meta_data,
                                       cloud_init.network_config)):
        found.append(("cloud_init", f"files are not supported here: {_CLOUD_INIT}"))
    found += _unreachable(resource)
    return found


def _unreachable(resource: Resource) -> list[tuple[str, str]]:
    """``wait_for`` needing an address the guest will not have: neither a static
    ipconfig address nor (QEMU guests) the guest agent to report one."""
    wanted = resource.settings.get("wait_for")
    if wanted not in ("ip", "ssh", "cloud-init"):
        return []
    options = options_of(resource)
    if isinstance(options, GuestOptions):
        if options.agent:
            return []
        configs = options.cloud_init.ipconfig if options.cloud_init is not None else []
        way = ("set options.agent: true (the image must run qemu-guest-agent), or a static "
               "address in options.cloud_init.ipconfig")
    else:
        configs = options.ipconfig
        way = "give it a static address in options.ipconfig (containers have no agent here)"
    if any(_static(str(config)) for config in configs):
        return []
    return [("wait_for", f"{wanted} needs the guest's address, and it has none Proxmox can "
                         f"report: {way}")]


def _static(ipconfig: str) -> bool:
    """Whether an ipconfig (ip=10.0.0.5/24,gw=...) sets a static IPv4 or IPv6 address."""
    values = dict(part.split("=", 1) for part in ipconfig.split(",") if "=" in part)
    return any(values.get(key, "dhcp") not in ("dhcp", "auto", "manual") for key in ("ip", "ip6"))
