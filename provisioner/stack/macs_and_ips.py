"""Fixed MAC and IP addresses of guests' NICs, checked across the whole stack.

A hypervisor takes a duplicate MAC without a word and both guests lose their
network; a fixed IP outside its network's range, on its gateway, or given to two
guests makes a DHCP reservation that libvirt refuses half-way through an apply, or
one that never serves. Each is refused at the line that causes it, after ``count``
is expanded (a literal MAC in a counted guest is the same MAC N times).
"""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping, Sequence
from typing import Any

from provisioner.core.address import Address, Kind
from provisioner.core.resources import Resource
from provisioner.errors import StackProblem
from provisioner.stack.source import PathKey, SourceMap, format_path
from provisioner.stack.templates import deferred_paths
from provisioner.stack.values import MAC_RE


def check_macs_and_ips(resources: Sequence[Resource], groups: Mapping[Address, list[Address]],
                    source: SourceMap) -> list[StackProblem]:
    declared_as = {member: group for group, members in groups.items() for member in members}
    ranges = {r.address.name: _range(r.spec.get("cidr")) for r in resources
              if r.kind is Kind.NETWORK}
    checker = _Checker(source, declared_as)
    for resource in resources:
        if resource.kind is not Kind.GUEST:
            continue
        group = declared_as.get(resource.address, resource.address)
        for index, nic in enumerate(resource.spec.get("networks") or []):
            path: PathKey = ("guests", group.name, "networks", index)
            if deferred_paths(nic, ("count",)):
                continue  # in a guest without count: reported where it is written
            if nic.get("mac"):
                checker.mac(resource.address, path, str(nic["mac"]))
            if nic.get("ip") and nic.get("network"):
                checker.ip(resource.address, path, str(nic["ip"]), str(nic["network"]),
                           ranges.get(str(nic["network"])))
    return checker.problems


def _range(cidr: Any) -> ipaddress.IPv4Network | None:
    try:
        return ipaddress.IPv4Network(str(cidr), strict=False) if cidr else None
    except ValueError:
        return None  # reported by the model


class _Checker:
    def __init__(self, source: SourceMap, declared_as: Mapping[Address, Address]) -> None:
        self.source = source
        self.declared_as = declared_as
        """Each instance → the declaration that made it (``guests.web-1`` → ``guests.web``)."""
        self.problems: list[StackProblem] = []
        self.macs: dict[str, tuple[Address, PathKey]] = {}  # MAC → guest and its NIC
        self.ips: dict[tuple[str, str], Address] = {}
        self.reported: set[PathKey] = set()

    def mac(self, address: Address, nic: PathKey, mac: str) -> None:
        if not MAC_RE.match(mac):  # a ${count.index} template, expanded
            self._problem((*nic, "mac"), f"{address} gets the MAC '{mac}', which is not one",
                          "keep the template to two hex digits per part for every index")
            return
        holder, holder_nic = self.macs.setdefault(mac.lower(), (address, nic))
        if (holder, holder_nic) != (address, nic):
            self._problem((*nic, "mac"), f"MAC {mac} is also {holder}'s: two NICs with one "
                          "MAC lose the network",
                          self._hint(address, holder, "mac",
                                     "give each NIC its own MAC, or leave mac out (one is made)"))

    def ip(self, address: Address, nic: PathKey, ip: str, network: str,
           cidr: ipaddress.IPv4Network | None) -> None:
        path = (*nic, "ip")
        try:
            wanted = ipaddress.IPv4Address(ip)
        except ValueError:  # a ${count.index} template, expanded
            self._problem(path, f"{address} gets the address '{ip}', which is not one",
                          "fewer instances, or a template that stays an address")
            return
        if cidr is not None:
            if wanted not in cidr:
                self._problem(path, f"{ip} is not in network {network} ({cidr})",
                              f"pick an address in {cidr}")
                return
            if wanted in (cidr.network_address, cidr.broadcast_address,
                          cidr.network_address + 1):
                first, last = cidr.network_address + 2, cidr.broadcast_address - 1
                self._problem(path, f"{ip} is network {network}'s own address (network, "
                              "gateway or broadcast)",
                              f"pick one from {first} to {last}" if first <= last else
                              f"{cidr} has no address left for guests: give the network a "
                              "wider cidr, such as a /24")
                return
        holder = self.ips.setdefault((network, ip), address)
        if holder != address:
            self._problem(path, f"{ip} on network {network} is also {holder}'s",
                          self._hint(address, holder, "ip", "give each guest its own address"))

    def _hint(self, address: Address, holder: Address, key: str, otherwise: str) -> str:
        """The way out of a duplicate: for two instances of one counted guest, build the
        value from ``${count.index}``."""
        group = self.declared_as.get(address, address)
        if address not in (holder, group) and group == self.declared_as.get(holder):
            return (f"each instance of a counted guest gets the same {key}: build it from "
                    "${count.index}, or leave it out")
        return otherwise

    def _problem(self, path: PathKey, message: str, hint: str) -> None:
        if path not in self.reported:  # once per line, not once per counted instance
            self.reported.add(path)
            self.problems.append(StackProblem(self.source.value_at(path), format_path(path),
                                         message, hint))
