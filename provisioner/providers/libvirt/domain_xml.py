"""Guest spec ↔ libvirt domain XML, both ways; pure (no libvirt calls).

``GuestLayout`` is what the provider resolved against the hypervisor (volume
and pool names, network names, MACs, the domain type); ``domain_xml`` turns
spec + layout into a definition, ``read_guest`` turns the XML libvirt returns
back into the spec shape, normalized so that a plan right after an apply
shows no changes.
"""

from __future__ import annotations

import hashlib
import xml.etree.ElementTree as ET
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from provisioner.core.address import Address
from provisioner.core.resources import Resource, address_name
from provisioner.core.specs import GuestSpec
from provisioner.providers.libvirt import GuestOptions
from provisioner.providers.libvirt.ownership import Ownership, parse_volume_name
from provisioner.units import Bytes

TARGET_PREFIX = {"virtio": "vd", "scsi": "sd", "sata": "sd", "ide": "hd"}
SERIAL_LOG_DIR = "/var/log/libvirt/qemu"
GUEST_AGENT_CHANNEL = "org.qemu.guest_agent.0"


@dataclass(frozen=True)
class DiskPlan:
    """One disk of a guest as libvirt will see it."""

    index: int
    target: str
    bus: str
    format: str
    pool: str
    """The libvirt pool name."""
    volume: str
    """The libvirt volume name."""
    own: bool
    """True for a disk created and deleted with the guest; False for an attached volume."""
    size: int | None = None
    image: str | None = None
    readonly: bool = False
    shareable: bool = False
    """Attached raw volumes: several guests may use them at once (qcow2 cannot be shared)."""


@dataclass(frozen=True)
class NicPlan:
    """One interface: on a libvirt network or a host bridge, with its MAC."""

    type: str
    """``network`` or ``bridge``."""
    source: str
    mac: str
    model: str


@dataclass(frozen=True)
class GuestLayout:
    """What the provider resolved for one definition of a guest."""

    domain_type: str
    disks: Sequence[DiskPlan]
    nics: Sequence[NicPlan]
    seed: DiskPlan | None = None


def default_mac(stack: str, address: Address, index: int) -> str:
    """A stable MAC for a NIC without one: the same guest always gets the same
    address, so DHCP reservations and leases survive redefinitions."""
    digest = hashlib.sha256(f"{stack}/{address}/{index}".encode()).digest()
    return "52:54:00:" + ":".join(f"{byte:02x}" for byte in digest[:3])


def serial_log_path(name: str) -> str:
    return f"{SERIAL_LOG_DIR}/{name}-serial.log"


def domain_xml(resource: Resource, owner: Ownership, layout: GuestLayout,
               uuid: str | None = None) -> str:
    """The persistent definition of a guest; ``uuid`` when redefining an existing one."""
    guest = GuestSpec.of(resource.spec)
    options = guest.options_as(GuestOptions)
    root = ET.Element("domain", {"type": layout.domain_type})
    ET.SubElement(root, "name").text = resource.name
    if uuid:
        ET.SubElement(root, "uuid").text = uuid
    metadata = ET.SubElement(root, "metadata")
    metadata.append(ET.fromstring(owner.tag(resource.address, resource.spec,
                                            protected=resource.lifecycle.prevent_destroy)))
    ET.SubElement(root, "memory", {"unit": "KiB"}).text = str(
        max(guest.memory, int(options.max_memory or 0)) // 1024)
    ET.SubElement(root, "currentMemory", {"unit": "KiB"}).text = str(guest.memory // 1024)
    ET.SubElement(root, "vcpu", {"placement": "static", "current": str(guest.cpus)}).text = \
        str(max(guest.cpus, options.max_cpus or 0))
    root.append(_os_element(options))
    features = ET.SubElement(root, "features")
    ET.SubElement(features, "acpi")
    ET.SubElement(features, "apic")
    if options.cpu_mode:
        ET.SubElement(root, "cpu", {"mode": options.cpu_mode})
    for event, action in (("on_poweroff", "destroy"), ("on_reboot", "restart"),
                          ("on_crash", "destroy")):
        ET.SubElement(root, event).text = action
    root.append(_devices(resource, layout, options))
    return ET.tostring(root, encoding="unicode")


def _os_element(options: GuestOptions) -> ET.Element:
    element = ET.Element("os")
    attributes = {"arch": "x86_64"}
    if options.machine:
        attributes["machine"] = options.machine
    ET.SubElement(element, "type", attributes).text = "hvm"
    if options.kernel:
        for key, value in (("kernel", options.kernel), ("initrd", options.initrd),
                           ("cmdline", options.cmdline)):
            if value:
                ET.SubElement(element, key).text = value
    else:
        for device in options.boot or ["hd"]:
            ET.SubElement(element, "boot", {"dev": device})
    return element


def _devices(resource: Resource, layout: GuestLayout, options: GuestOptions) -> ET.Element:
    devices = ET.Element("devices")
    for disk in [*layout.disks, *([layout.seed] if layout.seed else [])]:
        devices.append(_disk_element(disk))
    for nic in layout.nics:
        devices.append(_interface_element(nic))
    serial = ET.SubElement(devices, "serial", {"type": "pty"})
    if options.serial_log:
        ET.SubElement(serial, "log", {"file": serial_log_path(resource.name), "append": "off"})
    ET.SubElement(serial, "target", {"port": "0"})
    console = ET.SubElement(devices, "console", {"type": "pty"})
    ET.SubElement(console, "target", {"type": "serial", "port": "0"})
    channel = ET.SubElement(devices, "channel", {"type": "unix"})
    ET.SubElement(channel, "target", {"type": "virtio", "name": GUEST_AGENT_CHANNEL})
    if options.graphics == "vnc":
        ET.SubElement(devices, "graphics", {"type": "vnc", "port": "-1", "autoport": "yes",
                                            "listen": "127.0.0.1"})
    ET.SubElement(devices, "memballoon", {"model": "virtio"})
    rng = ET.SubElement(devices, "rng", {"model": "virtio"})
    ET.SubElement(rng, "backend", {"model": "random"}).text = "/dev/urandom"
    return devices


def keep_addresses(xml: str, old: ET.Element) -> str:
    """``xml`` (a new definition of a defined domain) with every device the old definition
    had kept at the bus address it had, and the old controllers kept: libvirt gives
    addresses anew to devices that come without one, so adding a disk or a NIC would
    move the others to other PCI slots, and the guest would see its NIC renamed
    (``enp0s3`` becomes ``enp0s4``), a change the plan never listed."""
    root = ET.fromstring(xml)
    devices = root.find("devices")
    old_devices = old.find("devices")
    if devices is None or old_devices is None:
        return xml
    addresses = {key: element.find("address") for key, element in _keyed(old_devices)}
    present = {key for key, _ in _keyed(devices)}
    for key, element in _keyed(old_devices):
        if element.tag == "controller" and key not in present:
            devices.append(element)
    for key, element in _keyed(devices):
        address = addresses.get(key)
        if element.find("address") is None and address is not None:
            element.append(address)
    return ET.tostring(root, encoding="unicode")


def _keyed(devices: ET.Element) -> list[tuple[tuple[str, ...], ET.Element]]:
    """Each device with what identifies it across two definitions: a disk by its target,
    a NIC by its MAC, a controller by type and index, anything else by its tag and its
    place among devices of that tag."""
    counts: dict[str, int] = {}
    keyed = []
    for element in devices:
        if element.tag == "disk":
            target = element.find("target")
            key: tuple[str, ...] = ("disk", "" if target is None else target.get("dev", ""))
        elif element.tag == "interface":
            mac = element.find("mac")
            key = ("interface", "" if mac is None else mac.get("address", "").lower())
        elif element.tag == "controller":
            key = ("controller", element.get("type", ""), element.get("index", ""))
        else:
            counts[element.tag] = counts.get(element.tag, 0) + 1
            key = (element.tag, str(counts[element.tag]))
        keyed.append((key, element))
    return keyed


def _disk_element(disk: DiskPlan) -> ET.Element:
    element = ET.Element("disk", {"type": "volume", "device": "disk"})
    ET.SubElement(element, "driver", {"name": "qemu", "type": disk.format})
    ET.SubElement(element, "source", {"pool": disk.pool, "volume": disk.volume})
    ET.SubElement(element, "target", {"dev": disk.target, "bus": disk.bus})
    if disk.readonly:
        ET.SubElement(element, "readonly")
    if disk.shareable:
        ET.SubElement(element, "shareable")
    return element


def _interface_element(nic: NicPlan) -> ET.Element:
    element = ET.Element("interface", {"type": nic.type})
    ET.SubElement(element, "source", {nic.type: nic.source})
    ET.SubElement(element, "mac", {"address": nic.mac})
    ET.SubElement(element, "model", {"type": nic.model})
    return element


@dataclass(frozen=True)
class VolumeInfo:
    """What the bulk volume listing knows of one volume."""

    pool: str
    name: str
    capacity: int
    format: str


@dataclass(frozen=True)
class HostView:
    """What a listing knows that reading one domain needs."""

    volumes: Mapping[tuple[str, str], VolumeInfo]
    networks: Mapping[str, str]
    """libvirt network name → resource name, for this stack's networks."""
    pools: Mapping[str, str]
    """libvirt pool name → resource name, for this stack's pools."""
    reservations: Mapping[str, str]
    """MAC → fixed IP (DHCP host entries of the networks)."""


def read_guest(root: ET.Element, applied: Mapping[str, Any], view: HostView,
               prefix: str) -> dict[str, Any]:
    """A domain's XML as a guest spec. ``applied`` is the spec kept in its metadata,
    the source of what libvirt does not report (image, cloud_init, options)."""
    vcpu = root.find("vcpu")
    memory = root.find("currentMemory")
    if memory is None:
        memory = root.find("memory")
    applied_disks = list(applied.get("disks") or [])
    disks = [element for element in root.findall("devices/disk[@device='disk']")
             if not _is_seed(element)]
    read = [_read_disk(element, view, prefix, applied_disks, index)
            for index, element in enumerate(disks)]
    if not applied_disks and applied.get("image") and len(read) == 1 and not read[0]["volume"]:
        read = []  # the disk `image:` implies when no `disks:` are declared (Guests.layout)
    return {
        "cpus": int(vcpu.get("current") or vcpu.text or 1) if vcpu is not None else 1,
        "memory": Bytes(_bytes(memory)),
        "image": applied.get("image"),
        "disks": read,
        "networks": [_read_interface(element, view)
                     for element in root.findall("devices/interface")],
        "cloud_init": applied.get("cloud_init"),
        "options": _read_options(root, applied.get("options") or {}),
    }


_OPTION_DEFAULTS = {name: field.get_default(call_default_factory=True)
                    for name, field in GuestOptions.model_fields.items()}
"""What a guest has for an option its declaration leaves out."""


def _read_options(root: ET.Element, applied: Mapping[str, Any]) -> dict[str, Any]:
    """The guest's options: what the domain XML shows (graphics), else what was applied,
    else the default. An option added to a declaration is then diffed against the value
    the guest really has, not skipped as unreadable."""
    graphics = "vnc" if root.find("devices/graphics") is not None else "none"
    return {**_OPTION_DEFAULTS, **applied, "graphics": graphics}


def read_limits(root: ET.Element) -> dict[str, int]:
    """The guest's maximum vCPUs and memory (what it can grow to live)."""
    vcpu = root.find("vcpu")
    return {"max_cpus": int(vcpu.text or 1) if vcpu is not None else 1,
            "max_memory": _bytes(root.find("memory"))}


def _is_seed(element: ET.Element) -> bool:
    source = element.find("source")
    parsed = parse_volume_name(source.get("volume", "") if source is not None else "")
    return parsed is not None and parsed.seed


def _bytes(element: ET.Element | None) -> int:
    if element is None or not element.text:
        return 0
    factor = {"KiB": 1024, "k": 1024, "MiB": 1024**2, "M": 1024**2, "GiB": 1024**3,
              "G": 1024**3, "b": 1, "bytes": 1}.get(element.get("unit", "KiB"), 1024)
    return int(element.text) * factor


def _read_disk(element: ET.Element, view: HostView, prefix: str,
               applied_disks: Sequence[Mapping[str, Any]], index: int) -> dict[str, Any]:
    source = element.find("source")
    target = element.find("target")
    driver = element.find("driver")
    pool = source.get("pool", "") if source is not None else ""
    volume = source.get("volume", "") if source is not None else ""
    parsed = parse_volume_name(volume)
    slot = target.get("dev") if target is not None else None
    if parsed is not None and parsed.owner == prefix and parsed.is_volume:
        return {"size": None, "pool": None, "image": None,
                "volume": address_name(parsed.object), "format": None, "bus": None,
                "slot": slot}
    info = view.volumes.get((pool, volume))
    applied = applied_disks[index] if index < len(applied_disks) else {}
    return {
        "size": Bytes(info.capacity) if info else None,
        "pool": view.pools.get(pool, pool) or None,
        "image": applied.get("image"),
        "volume": None,
        "format": driver.get("type") if driver is not None else None,
        "bus": target.get("bus") if target is not None else None,
        "slot": slot,
    }


def _read_interface(element: ET.Element, view: HostView) -> dict[str, Any]:
    source = element.find("source")
    mac_element = element.find("mac")
    model = element.find("model")
    mac = mac_element.get("address") if mac_element is not None else None
    nic: dict[str, Any] = {"network": None, "host_network": None, "bridge": None}
    # A running guest shows a NIC on a bridge-mode network as type='bridge', with
    # the network still named: the network is what was declared.
    if source is not None and source.get("network") is None:
        nic["bridge"] = source.get("bridge")
    elif source is not None:
        name = source.get("network", "")
        if name in view.networks:
            nic["network"] = view.networks[name]
        else:
            nic["host_network"] = name
    nic["mac"] = mac
    nic["ip"] = view.reservations.get(mac or "")
    nic["model"] = model.get("type") if model is not None else None
    return nic
