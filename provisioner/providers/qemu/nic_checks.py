"""Plan-time checks of qemu networks and of guests' NICs: what runs without root."""

from __future__ import annotations

from collections.abc import Sequence

from provisioner.core.problems import Problem
from provisioner.core.resources import Resource
from provisioner.core.specs import GuestSpec, NetworkSpec, NicSpec
from provisioner.providers.qemu.networks import MODES, NIC_MODELS


def network_problems(resource: Resource) -> list[Problem]:
    """What the provider cannot make of a declared network."""
    network = NetworkSpec.of(resource.spec)
    found = []
    if network.mode not in MODES:
        found.append(Problem(f"{network.mode} is not a mode of the qemu provider",
                             resource.address, "mode",
                             hint="use user (outbound NAT, port forwards) or private (guests "
                                  "see each other)"))
    for key, value in (("bridge", network.bridge), ("domain", network.domain),
                       ("dhcp_range", network.dhcp_range)):
        if value:
            found.append(Problem("is not supported by the qemu provider", resource.address,
                                 key, hint=f"leave `{key}:` out"))
    return found


def nic_problems(guests: Sequence[tuple[Resource, GuestSpec]],
                 networks: dict[str, NetworkSpec]) -> list[Problem]:
    """What the provider cannot run of each guest's NICs, and host ports forwarded twice."""
    found = []
    ports: dict[tuple[str, str, int], str] = {}
    for resource, guest in guests:
        for index, nic in enumerate(guest.networks):
            at = f"networks[{index}]"
            found += [Problem(summary, resource.address, f"{at}.{key}", hint=hint)
                      for key, summary, hint in _nic(nic, networks)]
            for number, forward in enumerate(nic.forwards):
                taken = (forward.address, forward.protocol, forward.host)
                if taken in ports:
                    found.append(Problem(
                        f"{forward.protocol} port {forward.host} is also forwarded by "
                        f"{ports[taken]}", resource.address, f"{at}.forwards[{number}].host",
                        hint='give each guest its own host port, such as "222${count.index}" '
                             "in a counted guest"))
                ports.setdefault(taken, str(resource.address))
    return found


def _nic(nic: NicSpec, networks: dict[str, NetworkSpec]) -> list[tuple[str, str, str]]:
    """(field, what is wrong, hint) for one NIC."""
    found = [(key, "is not supported: a bridge needs root (or qemu-bridge-helper set up by "
                   "root)", "declare a network with mode: user or private")
             for key, value in (("host_network", nic.host_network), ("bridge", nic.bridge))
             if value]
    found += [(key, "is not supported by the qemu provider", f"leave `{key}:` out")
              for key, value in (("vlan", nic.vlan), ("firewall", nic.firewall)) if value]
    if nic.model and nic.model not in NIC_MODELS:
        found.append(("model", f"'{nic.model}' is not one of {', '.join(NIC_MODELS)}",
                      "leave it out for virtio"))
    network = networks.get(nic.network or "")
    if nic.network and network is None:
        found.append(("network", f"'{nic.network}' is another provider block's network",
                      "a qemu guest uses networks of its own provider block"))
    if network is None:
        return found
    if nic.forwards and network.mode != "user":
        found.append(("forwards", f"need a user-mode network; '{nic.network}' is "
                      f"{network.mode}", "attach a second NIC on a network with mode: user"))
    if network.mode == "private" and nic.ip and not network.cidr:
        found.append(("ip", f"needs the network's cidr: '{nic.network}' has none",
                      "give the network a cidr"))
    if network.mode == "user" and nic.ip:
        found.append(("ip", "is not supported on a user-mode network (QEMU's DHCP gives the "
                      "address)", "leave it out"))
    return found
