"""Network spec ↔ libvirt network XML; pure (no libvirt calls).

The gateway is the first host address of ``cidr``; DHCP serves ``dhcp_range``
or, by default, from the second host address to the last. Fixed addresses of
guests are DHCP ``<host>`` entries that belong to the guests: a redefinition
keeps them, and they are not part of the network's spec.
"""

from __future__ import annotations

import ipaddress
import xml.etree.ElementTree as ET
from collections.abc import Mapping, Sequence
from typing import Any

from provisioner.core.resources import Resource
from provisioner.core.specs import NetworkSpec
from provisioner.providers.libvirt.ownership import Ownership

_FORWARD_MODE = {"nat": "nat", "routed": "route", "bridge": "bridge"}
_MODE_FROM_FORWARD = {value: key for key, value in _FORWARD_MODE.items()}
MIN_DHCP_ADDRESSES = 8


def network_xml(resource: Resource, owner: Ownership, uuid: str | None = None,
                hosts: Sequence[ET.Element] = ()) -> str:
    """The persistent definition of a network; ``hosts`` are DHCP reservations to keep."""
    spec = NetworkSpec.of(resource.spec)
    root = ET.Element("network")
    ET.SubElement(root, "name").text = resource.name
    if uuid:
        ET.SubElement(root, "uuid").text = uuid
    ET.SubElement(root, "metadata").append(
        ET.fromstring(owner.tag(resource.address, resource.spec)))
    if spec.mode in _FORWARD_MODE:
        ET.SubElement(root, "forward", {"mode": _FORWARD_MODE[spec.mode]})
    if spec.mode == "bridge":
        ET.SubElement(root, "bridge", {"name": spec.bridge or ""})
        return ET.tostring(root, encoding="unicode")
    if spec.domain:
        ET.SubElement(root, "domain", {"name": spec.domain})
    if spec.cidr:
        root.append(_ip_element(spec, spec.cidr, hosts))
    return ET.tostring(root, encoding="unicode")


def _ip_element(spec: NetworkSpec, cidr: str, hosts: Sequence[ET.Element]) -> ET.Element:
    network = ipaddress.IPv4Network(cidr)
    gateway = network.network_address + 1
    element = ET.Element("ip", {"address": str(gateway), "netmask": str(network.netmask)})
    start, end = dhcp_bounds(spec)
    if spec.dhcp and start is not None and end is not None:
        dhcp = ET.SubElement(element, "dhcp")
        ET.SubElement(dhcp, "range", {"start": start, "end": end})
        for host in hosts:
            dhcp.append(host)
    return element


def dhcp_bounds(spec: NetworkSpec) -> tuple[str | None, str | None]:
    """The DHCP range a network spec asks for (declared, or the default)."""
    if spec.dhcp_range is not None:
        return spec.dhcp_range.start, spec.dhcp_range.end
    if spec.cidr is None:
        return None, None
    network = ipaddress.IPv4Network(spec.cidr)
    if network.num_addresses < MIN_DHCP_ADDRESSES:
        return None, None
    return str(network.network_address + 2), str(network.broadcast_address - 1)


def read_network(root: ET.Element, applied: Mapping[str, Any]) -> dict[str, Any]:
    """A network's XML as a network spec (the DHCP range only when it was declared,
    since the default follows from the cidr)."""
    forward = root.find("forward")
    forward_mode = forward.get("mode", "nat") if forward is not None else None
    mode = _MODE_FROM_FORWARD.get(forward_mode or "", "isolated")
    bridge = root.find("bridge")
    ip = root.find("ip")
    domain = root.find("domain")
    cidr = _cidr(ip)
    dhcp_range = ip.find("dhcp/range") if ip is not None else None
    declared = NetworkSpec.of(applied)
    spec: dict[str, Any] = {
        "mode": mode,
        "cidr": cidr,
        "dhcp": dhcp_range is not None if ip is not None else declared.dhcp,
        "dhcp_range": None,
        "bridge": bridge.get("name") if mode == "bridge" and bridge is not None else None,
        "domain": domain.get("name") if domain is not None else None,
        "options": dict(declared.options),
    }
    if dhcp_range is not None and cidr is not None:
        found = {"start": dhcp_range.get("start"), "end": dhcp_range.get("end")}
        default = dhcp_bounds(NetworkSpec(cidr=cidr))
        if declared.dhcp_range is not None or (found["start"], found["end"]) != default:
            spec["dhcp_range"] = found
    return spec


def _cidr(ip: ET.Element | None) -> str | None:
    found = _ip_range(ip) if ip is not None else None
    return str(found) if isinstance(found, ipaddress.IPv4Network) else None


IpRange = ipaddress.IPv4Network | ipaddress.IPv6Network


def ip_ranges(root: ET.Element) -> list[IpRange]:
    """Every address range a network definition declares (IPv4 and IPv6)."""
    return [found for ip in root.findall("ip") if (found := _ip_range(ip)) is not None]


def _ip_range(ip: ET.Element) -> IpRange | None:
    """The range of one ``<ip address=... prefix|netmask=...>``; None without an address
    or when libvirt took a value this cannot read."""
    address, prefix, netmask = ip.get("address"), ip.get("prefix"), ip.get("netmask")
    if not address:
        return None
    try:
        if prefix is None and netmask is not None:
            prefix = str(ipaddress.IPv4Network(f"0.0.0.0/{netmask}").prefixlen)
        return ipaddress.ip_network(f"{address}/{prefix}" if prefix else address, strict=False)
    except ValueError:
        return None


def reservations(root: ET.Element) -> dict[str, str]:
    """MAC → fixed IP of the network's DHCP host entries."""
    return {host.get("mac", "").lower(): host.get("ip", "")
            for host in root.findall("ip/dhcp/host") if host.get("mac") and host.get("ip")}


def host_elements(root: ET.Element) -> list[ET.Element]:
    return list(root.findall("ip/dhcp/host"))


def host_xml(mac: str, name: str, ip: str) -> str:
    """A DHCP reservation, for ``virNetworkUpdate``."""
    return ET.tostring(ET.Element("host", {"mac": mac, "name": name, "ip": ip}),
                       encoding="unicode")
