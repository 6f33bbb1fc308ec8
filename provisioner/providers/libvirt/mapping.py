"""Specs ↔ libvirt XML, both ways, with no libvirt calls (pure, unit-tested).

Building turns a Resource's canonical spec into domain, network or volume
XML; reading turns the XML libvirt returns back into the same spec shape,
normalized (sizes in bytes, defaults libvirt fills in) so that a plan right
after an apply shows no changes.
"""

from __future__ import annotations

import ipaddress
import xml.etree.ElementTree as ET
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from provisioner.providers.libvirt.naming import VolumeName, owner_xml, parse_volume_name
from provisioner.resources import Resource, address_name
from provisioner.stack.address import Address, Kind
from provisioner.units import Bytes

_TARGET_PREFIX = {"virtio": "vd", "scsi": "sd", "sata": "sd", "ide": "hd"}
_FORWARD_MODE = {"nat": "nat", "routed": "route", "bridge": "bridge"}
_MODE_FROM_FORWARD = {value: key for key, value in _FORWARD_MODE.items()}


@dataclass(frozen=True)
class DiskPlan:
    """One disk of a guest as libvirt will see it."""

    index: int
    target: str
    bus: str
    format: str
    pool: str
    volume: str
    """The libvirt volume name."""
    own: bool
    """True for a disk created and deleted with the guest; False for an attached volume."""
    size: int | None = None
    image: str | None = None


def guest_disks(
    resource: Resource, stack: str, default_pool: str, attached: Mapping[str, tuple[str, str]]
) -> list[DiskPlan]:
    """The disks of a guest: own disks get names derived from the guest's name.

    ``attached`` maps a ``volumes:`` name to its (pool, libvirt volume name).
    The guest's ``image`` is the base of its first own disk (or of a disk
    created for it when ``disks`` is empty).
    """
    spec = resource.spec
    disks = list(spec.get("disks") or [])
    if not disks and spec.get("image"):
        disks = [{"size": None, "image": None, "volume": None}]
    plans: list[DiskPlan] = []
    used: dict[str, int] = {}
    for index, disk in enumerate(disks):
        bus = disk.get("bus") or "virtio"
        prefix = _TARGET_PREFIX[bus]
        target = prefix + chr(ord("a") + used.get(prefix, 0))
        used[prefix] = used.get(prefix, 0) + 1
        if disk.get("volume"):
            pool, name = attached[disk["volume"]]
            fmt = "raw" if name.endswith(".img") else "qcow2"
            plans.append(DiskPlan(index, target, bus, fmt, pool, name, own=False))
            continue
        fmt = disk.get("format") or "qcow2"
        image = disk.get("image") or (spec.get("image") if index == 0 else None)
        name = str(VolumeName(stack, resource.name, index, fmt))
        plans.append(DiskPlan(index, target, bus, fmt, disk.get("pool") or default_pool, name,
                              own=True, size=disk.get("size"), image=image))
    return plans


def domain_xml(
    resource: Resource, stack: str, domain_type: str, disks: Sequence[DiskPlan],
    uuid: str | None = None,
) -> str:
    """The persistent definition of a guest; ``uuid`` when redefining an existing one."""
    spec = resource.spec
    root = ET.Element("domain", {"type": domain_type})
    ET.SubElement(root, "name").text = resource.name
    if uuid:
        ET.SubElement(root, "uuid").text = uuid
    metadata = ET.SubElement(root, "metadata")
    metadata.append(ET.fromstring(owner_xml(stack, resource.address, spec)))
    ET.SubElement(root, "memory", {"unit": "KiB"}).text = str(int(spec["memory"]) // 1024)
    ET.SubElement(root, "vcpu").text = str(spec["cpus"])
    os_element = ET.SubElement(root, "os")
    ET.SubElement(os_element, "type", {"arch": "x86_64"}).text = "hvm"
    ET.SubElement(os_element, "boot", {"dev": "hd"})
    features = ET.SubElement(root, "features")
    ET.SubElement(features, "acpi")
    ET.SubElement(features, "apic")
    devices = ET.SubElement(root, "devices")
    for disk in disks:
        devices.append(_disk_element(disk))
    for nic in spec.get("networks") or []:
        devices.append(_interface_element(nic, resource))
    ET.SubElement(devices, "serial", {"type": "pty"})
    ET.SubElement(devices, "console", {"type": "pty"})
    return ET.tostring(root, encoding="unicode")


def _disk_element(disk: DiskPlan) -> ET.Element:
    element = ET.Element("disk", {"type": "volume", "device": "disk"})
    ET.SubElement(element, "driver", {"name": "qemu", "type": disk.format})
    ET.SubElement(element, "source", {"pool": disk.pool, "volume": disk.volume})
    ET.SubElement(element, "target", {"dev": disk.target, "bus": disk.bus})
    return element


def _interface_element(nic: Mapping[str, Any], resource: Resource) -> ET.Element:
    if nic.get("bridge"):
        element = ET.Element("interface", {"type": "bridge"})
        ET.SubElement(element, "source", {"bridge": nic["bridge"]})
    else:
        element = ET.Element("interface", {"type": "network"})
        name = (resource.name_of(Address(Kind.NETWORK, nic["network"])) if nic.get("network")
                else nic["host_network"])
        ET.SubElement(element, "source", {"network": name})
    if nic.get("mac"):
        ET.SubElement(element, "mac", {"address": nic["mac"]})
    ET.SubElement(element, "model", {"type": nic.get("model") or "virtio"})
    return element


@dataclass(frozen=True)
class VolumeInfo:
    """What the bulk volume listing knows of one volume."""

    pool: str
    name: str
    capacity: int
    format: str


def read_guest(
    root: ET.Element,
    applied: Mapping[str, Any],
    volumes: Mapping[tuple[str, str], VolumeInfo],
    stack: str,
    managed_networks: Mapping[str, str],
) -> dict[str, Any]:
    """A domain's XML as a guest spec. ``applied`` is the spec kept in its metadata,
    the source of the fields libvirt does not report (image, cloud_init)."""
    vcpu = root.find("vcpu")
    memory = root.find("memory")
    applied_disks = list(applied.get("disks") or [])
    spec: dict[str, Any] = {
        "cpus": int(vcpu.get("current") or vcpu.text or 1) if vcpu is not None else 1,
        "memory": Bytes(_kib(memory)),
        "image": applied.get("image"),
        "disks": [
            _read_disk(element, volumes, stack, applied_disks, index)
            for index, element in enumerate(root.findall("devices/disk[@device='disk']"))
        ],
        "networks": [
            _read_interface(element, managed_networks, applied, index)
            for index, element in enumerate(root.findall("devices/interface"))
        ],
        "cloud_init": applied.get("cloud_init"),
        "options": applied.get("options", {}),
    }
    return spec


def _kib(element: ET.Element | None) -> int:
    if element is None or not element.text:
        return 0
    factor = {"KiB": 1024, "k": 1024, "MiB": 1024**2, "M": 1024**2, "GiB": 1024**3, "G": 1024**3,
              "b": 1, "bytes": 1}.get(element.get("unit", "KiB"), 1024)
    return int(element.text) * factor


def _read_disk(
    element: ET.Element,
    volumes: Mapping[tuple[str, str], VolumeInfo],
    stack: str,
    applied_disks: Sequence[Mapping[str, Any]],
    index: int,
) -> dict[str, Any]:
    source = element.find("source")
    target = element.find("target")
    driver = element.find("driver")
    pool = source.get("pool", "") if source is not None else ""
    volume = source.get("volume", "") if source is not None else ""
    parsed = parse_volume_name(volume)
    if parsed is not None and parsed.stack == stack and parsed.disk is None:
        return {"size": None, "pool": None, "image": None, "volume": address_name(parsed.object),
                "format": None, "bus": None}
    info = volumes.get((pool, volume))
    applied = applied_disks[index] if index < len(applied_disks) else {}
    return {
        "size": Bytes(info.capacity) if info else None,
        "pool": pool or None,
        "image": applied.get("image"),
        "volume": None,
        "format": driver.get("type") if driver is not None else None,
        "bus": target.get("bus") if target is not None else None,
    }


def _read_interface(
    element: ET.Element, managed_networks: Mapping[str, str], applied: Mapping[str, Any],
    index: int,
) -> dict[str, Any]:
    source = element.find("source")
    mac = element.find("mac")
    model = element.find("model")
    nic: dict[str, Any] = {"network": None, "host_network": None, "bridge": None}
    if element.get("type") == "bridge" and source is not None:
        nic["bridge"] = source.get("bridge")
    elif source is not None:
        name = source.get("network", "")
        if name in managed_networks:
            nic["network"] = managed_networks[name]
        else:
            nic["host_network"] = name
    applied_nics = list(applied.get("networks") or [])
    nic["mac"] = mac.get("address") if mac is not None else None
    nic["ip"] = applied_nics[index].get("ip") if index < len(applied_nics) else None
    nic["model"] = model.get("type") if model is not None else None
    return nic


def network_xml(resource: Resource, stack: str, uuid: str | None = None) -> str:
    """The persistent definition of a network; ``uuid`` when redefining an existing one."""
    spec = resource.spec
    root = ET.Element("network")
    ET.SubElement(root, "name").text = resource.name
    if uuid:
        ET.SubElement(root, "uuid").text = uuid
    metadata = ET.SubElement(root, "metadata")
    metadata.append(ET.fromstring(owner_xml(stack, resource.address, spec)))
    mode = spec.get("mode", "nat")
    if mode in _FORWARD_MODE:
        ET.SubElement(root, "forward", {"mode": _FORWARD_MODE[mode]})
    if mode == "bridge":
        ET.SubElement(root, "bridge", {"name": spec["bridge"]})
        return ET.tostring(root, encoding="unicode")
    if spec.get("domain"):
        ET.SubElement(root, "domain", {"name": spec["domain"]})
    if spec.get("cidr"):
        root.append(_ip_element(spec["cidr"], bool(spec.get("dhcp", True))))
    return ET.tostring(root, encoding="unicode")


def _ip_element(cidr: str, dhcp: bool) -> ET.Element:
    """Gateway on the first host address; DHCP from the next one to the last host."""
    network = ipaddress.IPv4Network(cidr)
    gateway = network.network_address + 1
    element = ET.Element("ip", {"address": str(gateway), "netmask": str(network.netmask)})
    if dhcp and network.num_addresses >= 8:
        dhcp_element = ET.SubElement(element, "dhcp")
        ET.SubElement(dhcp_element, "range",
                      {"start": str(gateway + 1), "end": str(network.broadcast_address - 1)})
    return element


def read_network(root: ET.Element, applied: Mapping[str, Any]) -> dict[str, Any]:
    """A network's XML as a network spec."""
    forward = root.find("forward")
    forward_mode = forward.get("mode", "nat") if forward is not None else None
    mode = _MODE_FROM_FORWARD.get(forward_mode or "", "isolated")
    bridge = root.find("bridge")
    ip = root.find("ip")
    domain = root.find("domain")
    cidr = None
    if ip is not None and ip.get("address"):
        prefix = ip.get("prefix") or str(ipaddress.IPv4Network(f"0.0.0.0/{ip.get('netmask')}")
                                         .prefixlen)
        cidr = str(ipaddress.IPv4Network(f"{ip.get('address')}/{prefix}", strict=False))
    serves_dhcp = ip is not None and ip.find("dhcp") is not None
    return {
        "mode": mode,
        "cidr": cidr,
        "dhcp": serves_dhcp if ip is not None else bool(applied.get("dhcp", True)),
        "bridge": bridge.get("name") if mode == "bridge" and bridge is not None else None,
        "domain": domain.get("name") if domain is not None else None,
        "options": applied.get("options", {}),
    }


def volume_xml(name: str, size: int, fmt: str, backing: tuple[str, str] | None = None) -> str:
    """A new volume; ``backing`` is the (path, format) of a base image for an overlay."""
    root = ET.Element("volume")
    ET.SubElement(root, "name").text = name
    ET.SubElement(root, "capacity", {"unit": "bytes"}).text = str(int(size))
    target = ET.SubElement(root, "target")
    ET.SubElement(target, "format", {"type": fmt})
    if backing is not None:
        store = ET.SubElement(root, "backingStore")
        ET.SubElement(store, "path").text = backing[0]
        ET.SubElement(store, "format", {"type": backing[1]})
    return ET.tostring(root, encoding="unicode")
