"""Plan-time checks: what the declared resources name on the host exists, and can run.

Pools, host networks, bridges, base images, kernel files, CPU modes, address
ranges, and fixed MACs that a domain outside the stack has, against what the
last listing saw (``inventory.HostFacts``); one more listing (host interfaces)
only when a bridge is named.
"""

from __future__ import annotations

import ipaddress
import os
from collections.abc import Sequence
from typing import TYPE_CHECKING

from provisioner.core.address import Kind
from provisioner.core.resources import Resource
from provisioner.errors import ProviderError
from provisioner.providers.base import CallKind
from provisioner.providers.kit.macs import mac_clashes
from provisioner.providers.libvirt.client import LibvirtClient
from provisioner.providers.libvirt.inventory import HostFacts
from provisioner.providers.libvirt.storage import IMAGE_SUFFIXES

if TYPE_CHECKING:
    from provisioner.providers.libvirt.guests import Guests


def plan_checks(resources: Sequence[Resource], facts: HostFacts, guests: Guests,
                domain_type: str, local: bool) -> list[str]:
    """What the declared resources refer to on the host, checked against the last
    listing: pools, host networks, bridges, base images, kernel files, CPU modes, and
    fixed MACs that a domain outside the stack has."""
    declared_pools = {guests.owner.pool_name(r.name) for r in resources if r.kind is Kind.POOL}
    checker = _Checker(facts, declared_pools, local)
    for resource in resources:
        if resource.kind is Kind.VOLUME:
            checker.pool(resource, guests.pool_of(resource, "pool", resource.spec.get("pool")))
        elif resource.kind is Kind.GUEST:
            _check_guest(checker, resource, guests, domain_type)
    _check_bridges(checker, resources, guests.client)
    _check_ranges(checker, resources)
    return checker.problems + mac_clashes(resources, facts.macs)


def _check_ranges(checker: _Checker, resources: Sequence[Resource]) -> None:
    """A network's cidr overlaps no other network on the host (libvirt refuses to start
    it: "Network is already in use by interface virbr1") nor another declared one.
    This block's own networks that are no longer declared are not counted: the plan
    deletes them."""
    declared = [(r, ipaddress.ip_network(r.spec["cidr"], strict=False)) for r in resources
                if r.kind is Kind.NETWORK and r.spec.get("cidr")]
    for index, (resource, wanted) in enumerate(declared):
        for name, ranges in sorted(checker.facts.network_ranges.items()):
            for taken in ranges:
                if taken.version == wanted.version and taken.overlaps(wanted):
                    checker.problems.append(
                        f"{resource.address}: cidr {wanted} overlaps {taken} of the libvirt "
                        f"network '{name}' on this host; pick a free range")
        for other, taken in declared[:index]:
            if taken.version == wanted.version and taken.overlaps(wanted):
                checker.problems.append(f"{resource.address}: cidr {wanted} overlaps {taken} "
                                        f"of {other.address}; pick a free range")


def _check_bridges(checker: _Checker, resources: Sequence[Resource],
                   client: LibvirtClient) -> None:
    """Host bridges named by guests and bridge networks exist (one listing, only when
    a bridge is named; skipped where libvirt cannot list host interfaces)."""
    wanted = [(r, nic["bridge"]) for r in resources if r.kind is Kind.GUEST
              for nic in r.spec.get("networks") or [] if nic.get("bridge")]
    wanted += [(r, r.spec["bridge"]) for r in resources
               if r.kind is Kind.NETWORK and r.spec.get("mode") == "bridge"]
    if not wanted:
        return
    try:
        interfaces = {i.name() for i in client.call(CallKind.LIST, "host interfaces",
                                                    client.conn.listAllInterfaces)}
    except ProviderError:
        return
    for resource, bridge in wanted:
        if bridge not in interfaces:
            existing = ", ".join(sorted(interfaces - {"lo"})) or "none"
            checker.problems.append(f"{resource.address}: host bridge '{bridge}' does not "
                                    f"exist (interfaces: {existing})")


_UNSUPPORTED = {
    "clone": "libvirt has no templates to clone: start the guest from `image:`",
    "node": "a libvirt provider block runs guests on the host of its URI: declare one block "
            "per host and pick it with `provider:`",
}
_UNSUPPORTED_NIC = {
    "vlan": "VLAN tags need an Open vSwitch bridge, which this provider does not set up",
    "firewall": "the libvirt provider has no per-NIC firewall; use the guest's own",
}


def _check_unsupported(checker: _Checker, resource: Resource) -> None:
    spec = resource.spec
    for key, why in _UNSUPPORTED.items():
        if spec.get(key) is not None:
            checker.problems.append(f"{resource.address}: `{key}:` is not supported here: {why}")
    for index, nic in enumerate(spec.get("networks") or []):
        for key, why in _UNSUPPORTED_NIC.items():
            if nic.get(key):
                checker.problems.append(
                    f"{resource.address}: networks[{index}].{key} is not supported here: {why}")


def _check_guest(checker: _Checker, resource: Resource, guests: Guests, domain_type: str) -> None:
    spec = resource.spec
    _check_unsupported(checker, resource)
    disks = list(spec.get("disks") or []) or ([{}] if spec.get("image") else [])
    for index, disk in enumerate(disks):
        if disk.get("volume"):
            continue
        pool = guests.pool_of(resource, f"disks[{index}].pool", disk.get("pool"))
        if checker.pool(resource, pool):
            image = disk.get("image") or (spec.get("image") if index == 0 else None)
            if image:
                checker.image(resource, pool, image)
    for nic in spec.get("networks") or []:
        if nic.get("host_network") and nic["host_network"] not in checker.facts.networks:
            existing = ", ".join(sorted(checker.facts.networks)) or "none"
            checker.problems.append(f"{resource.address}: host network '{nic['host_network']}' "
                                    f"does not exist (networks: {existing})")
    options = spec.get("options") or {}
    for key in ("kernel", "initrd"):
        if options.get(key):
            checker.file(resource, key, options[key])
    if options.get("cpu_mode") in ("host-passthrough", "host-model") and domain_type != "kvm":
        checker.problems.append(
            f"{resource.address}: cpu_mode {options['cpu_mode']} needs KVM, and this host runs "
            f"guests with software emulation (domain type {domain_type})")


class _Checker:
    def __init__(self, facts: HostFacts, declared_pools: set[str], local: bool) -> None:
        self.facts = facts
        self.declared_pools = declared_pools
        self.local = local
        self.problems: list[str] = []

    def pool(self, resource: Resource, pool: str) -> bool:
        """Whether the pool exists (or is declared); a problem if not."""
        if pool in self.declared_pools or self.facts.pools.get(pool):
            return pool not in self.declared_pools
        existing = ", ".join(sorted(self.facts.pools)) or "none"
        state = "is not active" if pool in self.facts.pools else "does not exist"
        self.problems.append(f"{resource.address}: storage pool '{pool}' {state} "
                             f"(pools: {existing})")
        return False

    def image(self, resource: Resource, pool: str, image: str) -> None:
        if image.startswith("/"):
            self.file(resource, "image", image)
            return
        names = self.facts.volumes.get(pool, set())
        if not any(image + suffix in names for suffix in IMAGE_SUFFIXES):
            images = ", ".join(sorted(n for n in names if "__" not in n)) or "none"
            self.problems.append(f"{resource.address}: base image '{image}' is not in pool "
                                 f"'{pool}' (volumes there: {images})")

    def file(self, resource: Resource, key: str, path: str) -> None:
        if self.local and not os.path.exists(path):
            self.problems.append(f"{resource.address}: {key} file '{path}' does not exist "
                                 "on the host")
