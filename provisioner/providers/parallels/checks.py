"""Plan-time checks of what guests ask of Parallels Desktop. Pure.

What Parallels cannot hold is refused at its field (images, clones, nodes,
pools, volumes, disk formats, buses and slots, managed networks, per-NIC
addresses, VLANs, firewalls, port forwards, sizes that are not whole MiB);
``host_network:`` must be one of the forms ``nics.py`` describes, and a
host-only network or a bridged interface must be one the Mac has (``prlsrvctl
net list``, read with the VMs in the bulk read).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from provisioner.core.problems import Problem
from provisioner.core.resources import Resource
from provisioner.core.specs import GuestSpec, NicSpec
from provisioner.providers.kit.refusals import GuestRefusals
from provisioner.providers.parallels.listing import Network
from provisioner.providers.parallels.nics import (
    DEFAULT_HOST_ONLY,
    KINDS,
    MAX_NICS,
    MODELS,
    attachment,
)
from provisioner.stack.interpolate import did_you_mean

UNSUPPORTED_GUEST = {
    "image": ("disks from images are not made by the parallels provider yet",
              "leave image: out; boot an installer or a seed instead"),
    "clone": ("clones are not made by the parallels provider yet", "leave clone: out"),
    "node": ("a Parallels Desktop Mac is one node", "leave node: out"),
}
UNSUPPORTED_DISK = {"pool": "disks live in the VM's bundle (the block's basefolder)",
                    "image": "disks from images are not made yet",
                    "volume": "volumes are not managed on Parallels Desktop",
                    "format": "disks are Parallels expanding images (.hdd)",
                    "bus": "prlctl chooses the disk's port", "slot": "disk N is the Nth hdd"}
UNSUPPORTED_NIC = {"network": "Parallels networks are named with host_network: (shared, "
                              "host, host:NAME) or bridge:",
                   "ip": "set addresses with cloud-init network_config",
                   "vlan": "Parallels NICs carry no VLAN tag", "firewall": "no NIC firewall"}
HOST_NETWORK_FORMS = "shared, host or host:NAME (a host-only network)"

Refuse = Callable[[str, str, str], None]


def unsupported(resource: Resource) -> list[Problem]:
    """What no Parallels Desktop can hold (no lookups): create refuses these too."""
    guest = GuestSpec.of(resource.spec)
    found = GuestRefusals(resource, "parallels")
    found.unserved(guest, UNSUPPORTED_GUEST, UNSUPPORTED_DISK, UNSUPPORTED_NIC)
    found.unread_addresses("Parallels Tools")
    found.whole_mib(guest, "Parallels")
    if len(guest.networks) > MAX_NICS:
        found.refuse("networks", f"at most {MAX_NICS} NICs", "")
    for index, nic in enumerate(guest.networks):
        _nic(index, nic, found.refuse)
    return found.found


def _nic(index: int, nic: NicSpec, refuse: Refuse) -> None:
    path = f"networks[{index}]"
    kind, target = attachment(nic)
    if nic.host_network is not None and (kind not in KINDS or
                                         (kind == "shared" and target is not None)):
        refuse(f"{path}.host_network", f"'{nic.host_network}' is not a Parallels network",
               f"write {HOST_NETWORK_FORMS}, or bridge: IF")
    if nic.model is not None and nic.model not in MODELS:
        refuse(f"{path}.model", f"'{nic.model}' is not a Parallels NIC model",
               "use one of " + ", ".join(MODELS))
    if nic.forwards:
        refuse(f"{path}.forwards", "is not supported by the parallels provider",
               "Parallels forwards ports on its Shared network, for the whole Mac "
               "(prlsrvctl net set Shared --nat-tcp-add); reach the guest at its address")


def plan_checks(resources: Sequence[Resource], networks: Sequence[Network]) -> list[Problem]:
    problems: list[Problem] = []
    host_only = {net.id for net in networks if net.type == "host-only"}
    bridges = {net.bound_to for net in networks if net.type == "bridged"} | \
        {net.id for net in networks if net.type == "bridged"}
    for resource in resources:
        problems += unsupported(resource)
        for index, nic in enumerate(GuestSpec.of(resource.spec).networks):
            kind, target = attachment(nic)
            if kind == "host" and target and target != DEFAULT_HOST_ONLY and \
                    target not in host_only:
                make = f"make it: prlsrvctl net add {target} --type host-only"
                guess = did_you_mean(target, host_only)
                problems.append(Problem(
                    f"'{target}': no such host-only network on the Mac", resource.address,
                    f"networks[{index}].host_network",
                    hint=f"{guess} Or {make}" if guess else make[0].upper() + make[1:]))
            elif kind == "bridged" and target and target not in bridges:
                problems.append(Problem(
                    f"'{target}': no such interface to bridge on the Mac", resource.address,
                    f"networks[{index}].bridge",
                    hint=did_you_mean(target, bridges) or "see prlsrvctl net list"))
    return problems
