"""Plan-time checks: what the declared resources name on the host exists, and can run.

Pools, host networks, bridges, base images, kernel files, CPU modes, address
ranges, and fixed MACs that a domain outside the stack has, against what the
last listing saw (``inventory.HostFacts``); one more listing (host interfaces)
only when a bridge is named.
"""

from __future__ import annotations

import difflib
import ipaddress
import os
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from provisioner.core.address import Address, Kind
from provisioner.core.problems import Problem
from provisioner.core.resources import Resource
from provisioner.core.specs import DiskSpec, GuestSpec, NetworkSpec, VolumeSpec
from provisioner.errors import ProviderError
from provisioner.providers.base import CallKind
from provisioner.providers.kit.images import declared_images, image_problems
from provisioner.providers.kit.macs import mac_clashes
from provisioner.providers.libvirt import GuestOptions
from provisioner.providers.libvirt.client import LibvirtClient
from provisioner.providers.libvirt.domain_xml import TARGET_PREFIX
from provisioner.providers.libvirt.inventory import HostFacts
from provisioner.providers.libvirt.storage import IMAGE_SUFFIXES

if TYPE_CHECKING:
    from provisioner.providers.libvirt.guests import Guests


@dataclass(frozen=True)
class HostQueries:
    """What a check may ask the host beyond the last listing, only when a guest needs
    it: the domain type (a host CPU mode) and the machine types (``options.machine``)."""

    domain_type: Callable[[], str]
    machine_types: Callable[[], frozenset[str]]


def plan_checks(resources: Sequence[Resource], facts: HostFacts, guests: Guests,
                host: HostQueries, local: bool) -> list[Problem]:
    """What the declared resources refer to on the host, checked against the last
    listing: pools, host networks, bridges, base images, kernel files, CPU modes,
    machine types, disk targets, and fixed MACs that a domain outside the stack has."""
    declared_pools = {guests.owner.pool_name(r.name) for r in resources if r.kind is Kind.POOL}
    checker = _Checker(facts, declared_pools, local)
    views = [(r, GuestSpec.of(r.spec)) for r in resources if r.kind is Kind.GUEST]
    for resource in resources:
        if resource.kind is Kind.VOLUME:
            declared = VolumeSpec.of(resource.spec).pool
            checker.pool(resource, "pool" if declared else "",
                         guests.pool_of(resource, "pool", declared))
    for resource in resources:
        if resource.kind is Kind.NETWORK and NetworkSpec.of(resource.spec).mode in QEMU_ONLY_MODES:
            checker.refuse(resource, "mode", f"{NetworkSpec.of(resource.spec).mode} is a mode "
                           "of the qemu provider", "use nat, isolated, routed or bridge")
    images = {r.address: guests.pool_of(r, "pool", r.spec.get("pool"))
              for r in resources if r.kind is Kind.IMAGE}
    for resource in resources:
        if resource.kind is Kind.IMAGE:
            checker.pool(resource, "pool" if resource.spec.get("pool") else "",
                         images[resource.address])
    for resource, guest in views:
        _check_guest(checker, resource, guest, guests, host, images)
    _check_bridges(checker, resources, views, guests.client)
    _check_ranges(checker, resources)
    return (checker.problems + mac_clashes(resources, facts.macs)
            + image_problems(resources, IMPORTED_FORMATS, "libvirt"))


IMPORTED_FORMATS = ("qcow2", "raw")
"""What a guest's disk is made from (an overlay or a copy) in a pool; convert others
(``qemu-img convert -O qcow2``)."""


def _check_ranges(checker: _Checker, resources: Sequence[Resource]) -> None:
    """A network's cidr overlaps no other network on the host (libvirt refuses to start
    it: "Network is already in use by interface virbr1") nor another declared one.
    This block's own networks that are no longer declared are not counted: the plan
    deletes them."""
    declared = [(r, ipaddress.ip_network(cidr, strict=False)) for r in resources
                if r.kind is Kind.NETWORK and (cidr := NetworkSpec.of(r.spec).cidr)]
    for index, (resource, wanted) in enumerate(declared):
        for name, ranges in sorted(checker.facts.network_ranges.items()):
            for taken in ranges:
                if taken.version == wanted.version and taken.overlaps(wanted):
                    checker.refuse(resource, "cidr", f"{wanted} overlaps {taken} of the "
                                   f"libvirt network '{name}' on this host", "pick a free range")
        for other, taken in declared[:index]:
            if taken.version == wanted.version and taken.overlaps(wanted):
                checker.refuse(resource, "cidr", f"{wanted} overlaps {taken} of "
                               f"{other.address}", "pick a free range")


def _check_bridges(checker: _Checker, resources: Sequence[Resource],
                   views: Sequence[tuple[Resource, GuestSpec]], client: LibvirtClient) -> None:
    """Host bridges named by guests and bridge networks exist (one listing, only when
    a bridge is named; skipped where libvirt cannot list host interfaces)."""
    wanted = [(r, f"networks[{index}].bridge", nic.bridge) for r, guest in views
              for index, nic in enumerate(guest.networks) if nic.bridge]
    wanted += [(r, "bridge", network.bridge) for r in resources if r.kind is Kind.NETWORK
               if (network := NetworkSpec.of(r.spec)).mode == "bridge" and network.bridge]
    if not wanted:
        return
    try:
        interfaces = {i.name() for i in client.call(CallKind.LIST, "host interfaces",
                                                    client.conn.listAllInterfaces)}
    except ProviderError:
        return
    for resource, path, bridge in wanted:
        if bridge not in interfaces:
            existing = ", ".join(sorted(interfaces - {"lo"})) or "none"
            checker.refuse(resource, path, f"'{bridge}' does not exist on the host "
                           f"(interfaces: {existing})")


_UNSUPPORTED = {
    "clone": "libvirt has no templates to clone: start the guest from `image:`",
    "node": "a libvirt provider block runs guests on the host of its URI: declare one block "
            "per host and pick it with `provider:`",
}
_UNSUPPORTED_NIC = {
    "vlan": "VLAN tags need an Open vSwitch bridge, which this provider does not set up",
    "firewall": "the libvirt provider has no per-NIC firewall; use the guest's own",
    "forwards": "port forwards are for QEMU's user-mode networks (qemu provider); a libvirt "
                "guest is reached on its network's address",
}
QEMU_ONLY_MODES = ("user", "private")
"""Network modes of the qemu provider (no daemon, no bridge), which libvirt does not have."""


def _check_unsupported(checker: _Checker, resource: Resource, guest: GuestSpec) -> None:
    for key, value in (("clone", guest.clone), ("node", guest.node)):
        if value is not None:
            checker.refuse(resource, key, f"is not supported here: {_UNSUPPORTED[key]}")
    for index, nic in enumerate(guest.networks):
        for key, set_ in (("vlan", bool(nic.vlan)), ("firewall", bool(nic.firewall)),
                          ("forwards", bool(nic.forwards))):
            if set_:
                checker.refuse(resource, f"networks[{index}].{key}",
                               f"is not supported here: {_UNSUPPORTED_NIC[key]}")


def _check_image_pool(checker: _Checker, resource: Resource, path: str, pool: str,
                      image_pool: str | None) -> None:
    """A disk is made in the pool its image was imported into (an overlay's backing
    file is looked up there)."""
    if image_pool is not None and image_pool != pool:
        checker.refuse(resource, path, f"the image is imported into pool '{image_pool}', "
                       f"the disk is made in pool '{pool}'",
                       "give the image and the disk the same pool")


_TARGET_RE = re.compile(r"^(vd|sd|hd)[a-z]$")
_IDE_TARGETS = 4
"""hda to hdd: two IDE buses of two units each."""


def _check_slots(checker: _Checker, resource: Resource, guest: GuestSpec) -> None:
    """Every disk (and the cloud-init seed, a virtio disk) gets a target name: a slot
    given is one libvirt knows (vdb, sdc, hda), and there are names enough for the
    disks on each bus (vda to vdz; hda to hdd)."""
    disks = list(guest.disks) or ([DiskSpec()] if guest.image else [])
    used = {disk.slot for disk in disks if disk.slot}
    for index, disk in enumerate(disks):
        if disk.slot and not _TARGET_RE.match(disk.slot):
            checker.refuse(resource, f"disks[{index}].slot", f"'{disk.slot}' is not a "
                           "libvirt disk target", "write vd, sd or hd and a letter, such as "
                           "vdb (virtio), sdb (scsi, sata) or hdb (ide)")
    wanted = [(f"disks[{index}]", disk.bus or "virtio") for index, disk in enumerate(disks)
              if not disk.slot]
    wanted += [("cloud_init", "virtio")] if guest.cloud_init is not None else []
    for path, bus in wanted:
        prefix = TARGET_PREFIX[bus]
        free = [f"{prefix}{chr(letter)}" for letter in range(ord("a"), ord("z") + 1)
                if f"{prefix}{chr(letter)}" not in used]
        limit = _IDE_TARGETS if bus == "ide" else 26
        taken = sum(1 for name in used if name.startswith(prefix))
        if not free or taken >= limit:
            checker.refuse(resource, path, f"no {bus} disk target is left ({prefix}a to "
                           f"{prefix}{chr(ord('a') + limit - 1)} are taken)",
                           "attach fewer disks, or put some on another bus")
            return
        used.add(free[0])


def _check_guest(checker: _Checker, resource: Resource, guest: GuestSpec, guests: Guests,
                 host: HostQueries, images: Mapping[Address, str]) -> None:
    _check_unsupported(checker, resource, guest)
    _check_slots(checker, resource, guest)
    disks = list(guest.disks) or ([DiskSpec()] if guest.image else [])
    declared = declared_images(resource)
    for index, disk in enumerate(disks):
        if disk.volume:
            continue
        pool_path = f"disks[{index}].pool" if disk.pool else ""
        pool = guests.pool_of(resource, f"disks[{index}].pool", disk.pool)
        if checker.pool(resource, pool_path, pool):
            image = disk.image or (guest.image if index == 0 else None)
            image_path = f"disks[{index}].image" if disk.image else "image"
            if image_path in declared and image:
                _check_image_pool(checker, resource, image_path, pool,
                                  images.get(declared[image_path]))
            elif image:
                checker.image(resource, image_path, pool, image)
    for index, nic in enumerate(guest.networks):
        if nic.host_network and nic.host_network not in checker.facts.networks:
            existing = ", ".join(sorted(checker.facts.networks)) or "none"
            checker.refuse(resource, f"networks[{index}].host_network",
                           f"'{nic.host_network}' does not exist (networks: {existing})")
    options = guest.options_as(GuestOptions)
    for key, file in (("kernel", options.kernel), ("initrd", options.initrd)):
        if file:
            checker.file(resource, f"options.{key}", file)
    if options.cpu_mode in ("host-passthrough", "host-model") and host.domain_type() != "kvm":
        checker.refuse(resource, "options.cpu_mode", f"{options.cpu_mode} needs KVM, and "
                       "this host runs guests with software emulation (domain type "
                       f"{host.domain_type()})")
    if options.machine and (known := host.machine_types()) and options.machine not in known:
        close = difflib.get_close_matches(options.machine, sorted(known), n=3)
        checker.refuse(resource, "options.machine", f"'{options.machine}' is not a machine "
                       "type of this host", "such as " + ", ".join(close or ["q35", "pc"]))


class _Checker:
    def __init__(self, facts: HostFacts, declared_pools: set[str], local: bool) -> None:
        self.facts = facts
        self.declared_pools = declared_pools
        self.local = local
        self.problems: list[Problem] = []

    def refuse(self, resource: Resource, path: str, summary: str, hint: str = "") -> None:
        self.problems.append(Problem(summary, resource.address, path, hint=hint))

    def pool(self, resource: Resource, path: str, pool: str) -> bool:
        """Whether the pool exists (or is declared); a problem if not."""
        if pool in self.declared_pools or self.facts.pools.get(pool):
            return pool not in self.declared_pools
        existing = ", ".join(sorted(self.facts.pools)) or "none"
        state = "is not active" if pool in self.facts.pools else "does not exist"
        what = f"'{pool}'" if path else f"storage pool '{pool}' (the provider's default)"
        self.refuse(resource, path, f"{what} {state} (pools: {existing})")
        return False

    def image(self, resource: Resource, path: str, pool: str, image: str) -> None:
        if image.startswith("/"):
            self.file(resource, path, image)
            return
        names = self.facts.volumes.get(pool, set())
        if not any(image + suffix in names for suffix in IMAGE_SUFFIXES):
            images = ", ".join(sorted(n for n in names if "__" not in n)) or "none"
            self.refuse(resource, path, f"'{image}' is not in pool '{pool}' "
                        f"(volumes there: {images})")

    def file(self, resource: Resource, path: str, file: str) -> None:
        if self.local and not os.path.exists(file):
            self.refuse(resource, path, f"'{file}' does not exist on the host")
