"""Plan-time checks of what guests ask of VirtualBox. Pure, but for the interface lists.

What VirtualBox cannot hold is refused at its field (images, clones, nodes,
pools, volumes, disk formats, buses and slots, managed networks, per-NIC
addresses, VLANs, firewalls, more than 8 NICs or 29 disks, sizes that are not
whole MiB); ``host_network:`` must be one of the forms ``nics.py`` describes,
and a host-only or bridged interface must exist on the host (``list
hostonlyifs``, ``list bridgedifs``: read only when a guest names one); port
forwards only on NAT, and never two on one host port.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from provisioner.core.problems import Problem
from provisioner.core.resources import Resource
from provisioner.core.specs import GuestSpec, NicSpec
from provisioner.providers.kit.refusals import GuestRefusals
from provisioner.providers.virtualbox.listing import records
from provisioner.providers.virtualbox.nics import KINDS, MAX_NICS, MODELS, attachment
from provisioner.providers.virtualbox.read import SEED_PORT
from provisioner.providers.virtualbox.vboxmanage import VBoxManage
from provisioner.stack.interpolate import did_you_mean

UNSUPPORTED_GUEST = {
    "image": ("disks from images are not made by the virtualbox provider yet",
              "leave image: out; boot an installer or a seed instead"),
    "clone": ("clones are not made by the virtualbox provider yet", "leave clone: out"),
    "node": ("a VirtualBox host is one node", "leave node: out"),
}
UNSUPPORTED_DISK = {"pool": "disks live in the VM's folder (the block's basefolder)",
                    "image": "disks from images are not made yet",
                    "volume": "volumes are not managed on VirtualBox",
                    "format": "disks are VDI", "bus": "disks are on the SATA controller",
                    "slot": "disk N is on SATA port N"}
UNSUPPORTED_NIC = {"network": "VirtualBox networks are named with host_network: (nat, "
                              "hostonly:IF, intnet:NAME, natnetwork:NAME)",
                   "ip": "set addresses with cloud-init network_config",
                   "vlan": "VirtualBox NICs carry no VLAN tag", "firewall": "no NIC firewall"}
HOST_NETWORK_FORMS = "nat, hostonly:vboxnet0, intnet:NAME or natnetwork:NAME"

Refuse = Callable[[str, str, str], None]


def unsupported(resource: Resource) -> list[Problem]:
    """What no VirtualBox host can hold (no lookups): create refuses these too."""
    guest = GuestSpec.of(resource.spec)
    found = GuestRefusals(resource, "virtualbox")
    found.unserved(guest, UNSUPPORTED_GUEST, UNSUPPORTED_DISK, UNSUPPORTED_NIC)
    found.unread_addresses("its Guest Additions")
    found.whole_mib(guest, "VirtualBox")
    if len(guest.disks) > SEED_PORT:
        found.refuse("disks", f"at most {SEED_PORT} disks (SATA ports 0-28)", "")
    if len(guest.networks) > MAX_NICS:
        found.refuse("networks", f"at most {MAX_NICS} NICs", "")
    for index, nic in enumerate(guest.networks):
        _nic(index, nic, found.refuse)
    return found.found


def _nic(index: int, nic: NicSpec, refuse: Refuse) -> None:
    path = f"networks[{index}]"
    kind, target = attachment(nic)
    if nic.host_network is not None and (kind not in KINDS or (kind == "nat") == bool(target)):
        refuse(f"{path}.host_network", f"'{nic.host_network}' is not a VirtualBox network",
               f"write {HOST_NETWORK_FORMS}")
    if nic.model is not None and nic.model not in MODELS:
        refuse(f"{path}.model", f"'{nic.model}' is not a VirtualBox NIC model",
               "use one of " + ", ".join(sorted(MODELS)))
    if nic.forwards and kind != "nat":
        refuse(f"{path}.forwards", "port forwards need host_network: nat",
               "forward on a NAT NIC, or reach the guest at its address")


def plan_checks(resources: Sequence[Resource], vbox: VBoxManage) -> list[Problem]:
    problems: list[Problem] = []
    ports: dict[tuple[str, str, int], str] = {}
    wanted: dict[str, list[tuple[Resource, str, str]]] = {"hostonly": [], "bridged": []}
    for resource in resources:
        problems += unsupported(resource)
        for index, nic in enumerate(GuestSpec.of(resource.spec).networks):
            kind, target = attachment(nic)
            if kind in wanted and target:
                wanted[kind].append((resource, f"networks[{index}]", target))
            for number, forward in enumerate(nic.forwards):
                taken = (forward.address, forward.protocol, forward.host)
                if taken in ports:
                    problems.append(Problem(
                        f"{forward.protocol} port {forward.host} is also forwarded by "
                        f"{ports[taken]}", resource.address,
                        f"networks[{index}].forwards[{number}].host",
                        hint="give each guest its own host port"))
                ports.setdefault(taken, str(resource.address))
    for kind, field, listing in (("hostonly", "host_network", "hostonlyifs"),
                                 ("bridged", "bridge", "bridgedifs")):
        if wanted[kind]:
            names = {record.get("Name", "") for record in records(vbox.list(listing))}
            problems += [Problem(f"'{target}': no such interface on the VirtualBox host",
                                 resource.address, f"{path}.{field}",
                                 hint=did_you_mean(target, names) or f"see VBoxManage list "
                                                                     f"{listing}")
                         for resource, path, target in wanted[kind] if target not in names]
    return problems
