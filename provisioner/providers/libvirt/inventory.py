"""The bulk read: everything one provider block owns on a libvirt host, in one pass.

Listings (counted as LIST calls, constant in the number of guests): storage
pools, each active pool's volumes, networks, each relevant network's DHCP
leases, domains, autostart domains, and the statistics of every running domain
(``domain_stats``). libvirt has no call that returns many objects' XML, so each
domain's stored definition and each network's XML are then read once (READ
calls), and each of this stack's volumes that no running guest's statistics
sized gets one size read; these reads are pipelined (``LibvirtClient.each``).

A guest is read from its stored definition (``VIR_DOMAIN_XML_INACTIVE``): what
survives a restart and what provisioner defines. For a running guest the
statistics add what runs now: vCPUs online (so ``virsh setvcpus --live`` shows),
the live maxima, and its disks and NIC count; only a guest whose disks or NICs
differ from its definition has its running XML read too. Memory always comes
from the definition. A driver without these statistics (libvirt's test driver)
gives definitions only: changes made to its running guests alone are not seen.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any

import libvirt

from provisioner.core.address import Address, Kind
from provisioner.core.resources import PROTECTION_MARK, LiveObject, address_name
from provisioner.core.specs import GuestSpec
from provisioner.errors import ObjectNotFoundError
from provisioner.providers.base import CallKind, Inventory
from provisioner.providers.kit.macs import MacHolder, mac_holders
from provisioner.providers.libvirt.client import LibvirtClient
from provisioner.providers.libvirt.domain_stats import (
    Stats,
    devices_differ,
    disk_capacities,
    live_limits,
    pending,
    running_stats,
    running_values,
)
from provisioner.providers.libvirt.domain_xml import (
    HostView,
    VolumeInfo,
    read_guest,
    read_limits,
    serial_log_path,
)
from provisioner.providers.libvirt.images import image_objects
from provisioner.providers.libvirt.leases import domain_addresses, network_leases
from provisioner.providers.libvirt.network_xml import IpRange, ip_ranges, read_network, reservations
from provisioner.providers.libvirt.ownership import (
    Ownership,
    parse_owner,
    parse_volume_name,
    protected_mark,
)
from provisioner.providers.libvirt.pools import Pools
from provisioner.providers.libvirt.storage import Storage, VolumeListing
from provisioner.providers.libvirt.xml_read import parse_listed
from provisioner.units import Bytes

_STORED = libvirt.VIR_DOMAIN_XML_INACTIVE
"""The definition libvirt keeps: what a restart runs and what provisioner defines."""


@dataclass
class HostFacts:
    """What the last listing saw beyond this stack's objects, for plan-time checks."""

    pools: dict[str, bool] = field(default_factory=dict)
    """Every pool name → whether it is active."""
    volumes: dict[str, set[str]] = field(default_factory=dict)
    """Every volume name of each active pool."""
    networks: set[str] = field(default_factory=set)
    network_ranges: dict[str, list[IpRange]] = field(default_factory=dict)
    """Address ranges of every active network this provider block does not own."""
    macs: dict[str, MacHolder] = field(default_factory=dict)
    """MACs of the NICs of every domain that is not this stack's (from the definitions
    the listing reads anyway)."""


class Lister:
    """Reads one provider block's objects from a libvirt connection."""

    def __init__(self, client: LibvirtClient, owner: Ownership, storage: Storage,
                 pools: Pools) -> None:
        self.client = client
        self.owner = owner
        self.storage = storage
        self.pools = pools
        self.facts = HostFacts()

    def inventory(self) -> Inventory:
        conn = self.client.conn
        managed: list[LiveObject] = []
        foreign: dict[Kind, dict[str, str]] = {Kind.GUEST: {}, Kind.NETWORK: {}}
        self.facts = HostFacts()
        self.warnings: list[str] = []
        self.incomplete: list[LiveObject] = []
        """Pools and networks defined but not started (a create killed halfway):
        deleted and made again, as leftovers."""
        active = self.client.call(CallKind.LIST, "active pools", conn.listAllStoragePools,
                                  libvirt.VIR_CONNECT_LIST_STORAGE_POOLS_ACTIVE)
        inactive = self.client.call(CallKind.LIST, "inactive pools", conn.listAllStoragePools,
                                    libvirt.VIR_CONNECT_LIST_STORAGE_POOLS_INACTIVE)
        pool_names = self._pools(active, inactive, managed)
        stats = running_stats(self.client)
        listing = self.storage.listing(active, disk_capacities(stats))
        self.facts.volumes = listing.names
        networks = self.client.call(CallKind.LIST, "networks", conn.listAllNetworks)
        running = {n.name() for n in self.client.call(
            CallKind.LIST, "active networks", conn.listAllNetworks,
            libvirt.VIR_CONNECT_LIST_NETWORKS_ACTIVE)}
        network_names, network_roots = self._networks(networks, running, managed,
                                                      foreign[Kind.NETWORK])
        reserved = {mac: ip for root in network_roots.values()
                    for mac, ip in reservations(root).items()}
        view = HostView(listing.volumes, network_names, pool_names, reserved)
        guests = self._guests(view, foreign[Kind.GUEST], stats)
        used = {n for guest in guests for n in guest.attributes.get("network_names", {}).values()}
        leases = network_leases(self.client, [n for n in networks
                                              if n.name() in used or n.name() in network_names])
        managed += [_with_addresses(guest, leases) for guest in guests]
        managed += self._volumes(listing, pool_names)
        images, half_imported = image_objects(self.owner, listing.volumes, pool_names)
        managed += images
        leftovers = self._leftovers(listing, {guest.name for guest in guests})
        leftovers += half_imported
        leftovers += self.incomplete
        return Inventory(managed=managed, foreign=foreign, leftovers=leftovers,
                         warnings=tuple(self.warnings))

    def _leftovers(self, listing: VolumeListing, guests: set[str]) -> list[LiveObject]:
        """Disks and seeds of this block's guests whose guest does not exist: what a
        create or delete killed halfway left. One object per missing guest."""
        pieces: dict[str, list[list[str]]] = {}
        for pool, name in sorted(listing.volumes):
            parsed = parse_volume_name(name)
            if parsed is not None and parsed.owned_by_guest and parsed.object not in guests:
                pieces.setdefault(parsed.object, []).append([pool, name])
        return [LiveObject(address=Address(Kind.GUEST, address_name(guest)),
                           provider=self.owner.provider, name=guest, id=f"leftovers-of-{guest}",
                           spec={}, attributes={"leftover_volumes": volumes})
                for guest, volumes in pieces.items()]

    def _pools(self, active: list[libvirt.virStoragePool], inactive: list[libvirt.virStoragePool],
               managed: list[LiveObject]) -> dict[str, str]:
        names: dict[str, str] = {}
        for pool in [*active, *inactive]:
            self.facts.pools[pool.name()] = pool in active
            found = self.pools.live_object(pool, self.owner.provider)
            if found is not None:
                (managed if pool in active else self.incomplete).append(found)
                names[pool.name()] = address_name(found.name)
        return names

    def _networks(self, networks: list[libvirt.virNetwork], running: set[str],
                  managed: list[LiveObject], foreign: dict[str, str]
                  ) -> tuple[dict[str, str], dict[str, ET.Element]]:
        """This block's networks (libvirt name → resource name) and every XML read."""
        names: dict[str, str] = {}
        roots: dict[str, ET.Element] = {}
        for network in networks:
            self.facts.networks.add(network.name())
            try:
                text = self.client.call(CallKind.READ, network.name(), network.XMLDesc, 0)
            except ObjectNotFoundError:
                continue  # deleted between the listing and this read
            root = parse_listed(text, "network", network.name(), self.owner, self.warnings)
            if root is None:
                continue
            roots[network.name()] = root
            found = self.network_object(network, root)
            if found is not None:
                (managed if network.name() in running else self.incomplete).append(found)
                names[network.name()] = address_name(found.name)
            else:
                if network.name() in running:  # (libvirt checks only those in use)
                    self.facts.network_ranges[network.name()] = ip_ranges(root)
                if (owner := self.owner.stranger(parse_owner(root))) is not None:
                    foreign[network.name()] = owner
        return names, roots

    def network_object(self, network: libvirt.virNetwork, root: ET.Element) -> LiveObject | None:
        tag = parse_owner(root)
        if tag is None or not self.owner.owns(tag):
            return None
        bridge = root.find("bridge")
        return LiveObject(
            address=tag.address, provider=self.owner.provider, name=network.name(),
            id=network.UUIDString(), spec=read_network(root, tag.memo),
            attributes={"uuid": network.UUIDString(),
                        "bridge_name": bridge.get("name") if bridge is not None else None},
        )

    def _guests(self, view: HostView, foreign: dict[str, str],
                stats: Mapping[str, Stats]) -> list[LiveObject]:
        conn = self.client.conn
        autostart = {d.name() for d in self.client.call(
            CallKind.LIST, "autostart domains", conn.listAllDomains,
            libvirt.VIR_CONNECT_LIST_DOMAINS_AUTOSTART)}
        guests = []
        strangers: list[tuple[MacHolder, list[str]]] = []
        domains = self.client.call(CallKind.LIST, "domains", conn.listAllDomains)
        named = [(domain, domain.name()) for domain in domains]  # each name() is a C call
        for (domain, name), xml in zip(named, self.client.each(self._stored, named),
                                       strict=True):
            if xml is None:
                continue  # deleted between the listing and this read
            root = parse_listed(xml, "domain", name, self.owner, self.warnings)
            if root is None:
                continue
            tag = parse_owner(root)
            if tag is not None and self.owner.owns(tag):
                guests.append(self.guest_object(domain, root, tag.address, tag.memo, view,
                                                name in autostart, stats.get(name, {}), name))
            elif (owner := self.owner.stranger(tag)) is not None:
                foreign[name] = owner
                macs = [m.get("address", "") for m in root.findall("devices/interface/mac")]
                strangers.append((MacHolder(name, owner), [m for m in macs if m]))
        self.facts.macs = mac_holders(strangers)
        return guests

    def _stored(self, named: tuple[libvirt.virDomain, str]) -> str | None:
        domain, name = named
        try:
            return str(self.client.call(CallKind.READ, name, domain.XMLDesc, _STORED))
        except ObjectNotFoundError:
            return None

    def guest_object(self, domain: libvirt.virDomain, root: ET.Element, address: Address,
                     applied: Mapping[str, Any], view: HostView, autostart: bool,
                     stats: Stats, name: str) -> LiveObject:
        """A guest (domain ``name``) from its stored definition ``root`` and, if it runs,
        its ``stats``."""
        running = domain.ID() != -1  # the id is known locally: no call
        spec = read_guest(root, applied, view, self.owner.prefix)
        limits = read_limits(root)
        if running:
            spec |= self._pending(domain, name, root, spec, applied, view, stats)
            limits |= live_limits(stats)
        spec["power"] = "running" if running else "stopped"
        spec["autostart"] = autostart
        guest = GuestSpec.of(spec)  # the dict above is the stored form; read it typed
        deps = [Address(Kind.NETWORK, n.network) for n in guest.networks if n.network]
        deps += [Address(Kind.VOLUME, d.volume) for d in guest.disks if d.volume]
        deps += [Address(Kind.POOL, d.pool) for d in guest.disks
                 if d.pool and d.pool in view.pools.values()]
        sources = [s.get("network", "") for s in root.findall("devices/interface/source")]
        networks = {on: source for n, source in zip(guest.networks, sources, strict=False)
                    if (on := n.network or n.host_network)}
        uuid = root.findtext("uuid") or domain.UUIDString()
        return LiveObject(
            address=address, provider=self.owner.provider, name=name,
            id=uuid, spec=spec, running=running, deps=tuple(deps),
            attributes={"uuid": uuid,
                        "macs": [n.mac for n in guest.networks if n.mac],
                        "state": "running" if running else "stopped",
                        "serial_log": serial_log_path(name),
                        "network_names": networks, PROTECTION_MARK: protected_mark(root), **limits},
        )

    def _pending(self, domain: libvirt.virDomain, name: str, root: ET.Element,
                 spec: Mapping[str, Any],
                 applied: Mapping[str, Any], view: HostView, stats: Stats) -> dict[str, Any]:
        """The running guest's values the plan must see instead of its definition's
        (``domain_stats.pending``): from the statistics, or from its running XML when
        they show other disks or NICs than the definition (one more read)."""
        if not devices_differ(stats, root):
            return pending(spec, running_values(stats, spec), applied)
        try:
            xml = self.client.call(CallKind.READ, name, domain.XMLDesc, 0)
        except ObjectNotFoundError:
            return {}
        return pending(spec, read_guest(ET.fromstring(xml), applied, view, self.owner.prefix),
                       applied)

    def _volumes(self, listing: VolumeListing, pool_names: Mapping[str, str]
                 ) -> list[LiveObject]:
        objects = []
        for (pool, name), info in listing.volumes.items():
            parsed = parse_volume_name(name)
            if parsed is None or not parsed.is_volume:
                continue
            objects.append(volume_object(self.owner.provider, info, parsed.object,
                                         listing.keys[(pool, name)], pool_names))
        return objects


def volume_object(provider: str, info: VolumeInfo, object_name: str, key: str,
                  pool_names: Mapping[str, str]) -> LiveObject:
    """A ``volumes:`` entry; ``object_name`` is its name without stack and suffix."""
    pool = pool_names.get(info.pool, info.pool)
    return LiveObject(
        address=Address(Kind.VOLUME, address_name(object_name)), provider=provider,
        name=object_name, id=key,
        spec={"size": Bytes(info.capacity), "pool": pool, "format": info.format,
              "options": {}},
        attributes={"path": key, "key": key, "volume": info.name, "pool": info.pool},
        deps=(Address(Kind.POOL, pool),) if info.pool in pool_names else (),
    )


def _with_addresses(guest: LiveObject, leases: Mapping[str, str]) -> LiveObject:
    addresses = [leases[mac.lower()] for mac in guest.attributes.get("macs", [])
                 if mac.lower() in leases]
    if not addresses:
        return guest
    return replace(guest, attributes={**guest.attributes, "ip": addresses[0],
                                      "ips": addresses})


class ReadBack:
    """One object as the next plan will see it, read with a few targeted calls
    (after a create or update; a full listing per change would be quadratic)."""

    def __init__(self, lister: Lister) -> None:
        self.lister = lister
        self.client = lister.client

    def guest(self, name: str, what: str, just_started: bool = False) -> LiveObject:
        """``just_started``: provisioner defined and started it a moment ago, so the
        running guest is its definition and its statistics (one QEMU query per
        group, about 17 ms a guest on a busy host) would tell nothing new."""
        conn = self.client.conn
        domain = self.client.call(CallKind.READ, what, conn.lookupByName, name)
        root = ET.fromstring(self.client.call(CallKind.READ, what, domain.XMLDesc, _STORED))
        tag = parse_owner(root)
        if tag is None:
            raise ObjectNotFoundError(f"{what}: the domain has no ownership tag")
        networks, reserved = self._networks(root)
        view = HostView(self._volumes(root), networks, self._pool_names(root), reserved)
        autostart = bool(self.client.call(CallKind.READ, what, domain.autostart))
        running = domain.ID() != -1
        stats = running_stats(self.client, [domain]) if running and not just_started else {}
        guest = self.lister.guest_object(domain, root, tag.address, tag.memo, view, autostart,
                                         stats.get(name, {}), name)
        if not guest.running:
            return guest
        addresses = domain_addresses(self.client, domain, what)
        if not addresses:
            return guest
        return replace(guest, attributes={**guest.attributes, "ip": addresses[0],
                                          "ips": addresses})

    def network(self, name: str, what: str) -> LiveObject:
        network = self.client.call(CallKind.READ, what, self.client.conn.networkLookupByName,
                                   name)
        root = ET.fromstring(self.client.call(CallKind.READ, what, network.XMLDesc, 0))
        found = self.lister.network_object(network, root)
        if found is None:
            raise ObjectNotFoundError(f"{what}: the network has no ownership tag")
        return found

    def pool(self, name: str, what: str) -> LiveObject:
        pool = self.client.call(CallKind.READ, what, self.client.conn.storagePoolLookupByName,
                                name)
        found = self.lister.pools.live_object(pool, self.lister.owner.provider)
        if found is None:
            raise ObjectNotFoundError(f"{what}: pool {name} is not this stack's")
        return found

    def volume(self, pool: str, name: str, object_name: str, what: str) -> LiveObject:
        volume = self.lister.storage.lookup(pool, name)
        if volume is None:
            raise ObjectNotFoundError(f"{what}: volume {pool}/{name} is missing")
        capacity = int(self.client.call(CallKind.READ, what, volume.info)[1])
        parsed = parse_volume_name(name)
        info = VolumeInfo(pool, name, capacity, parsed.format if parsed else "qcow2")
        pool_object = self.lister.owner.parse_pool(pool)
        names = {pool: address_name(pool_object)} if pool_object else {}
        return volume_object(self.lister.owner.provider, info, object_name, volume.key(), names)

    def _volumes(self, root: ET.Element) -> dict[tuple[str, str], VolumeInfo]:
        found = {}
        for source in root.findall("devices/disk/source"):
            pool, name = source.get("pool"), source.get("volume")
            if not pool or not name:
                continue
            volume = self.lister.storage.lookup(pool, name)
            if volume is not None:
                capacity = int(self.client.call(CallKind.READ, name, volume.info)[1])
                parsed = parse_volume_name(name)
                found[(pool, name)] = VolumeInfo(pool, name, capacity,
                                                 parsed.format if parsed else "qcow2")
        return found

    def _networks(self, root: ET.Element) -> tuple[dict[str, str], dict[str, str]]:
        """This block's networks the guest uses, and their reservations."""
        names: dict[str, str] = {}
        reserved: dict[str, str] = {}
        for source in root.findall("devices/interface/source[@network]"):
            name = source.get("network", "")
            try:
                network = self.client.call(CallKind.READ, name,
                                           self.client.conn.networkLookupByName, name)
                text = self.client.call(CallKind.READ, name, network.XMLDesc, 0)
            except ObjectNotFoundError:
                continue
            network_root = parse_listed(text, "network", name, self.lister.owner, [])
            if network_root is None:
                continue
            reserved |= reservations(network_root)
            tag = parse_owner(network_root)
            if tag is not None and self.lister.owner.owns(tag):
                names[name] = address_name(name)
        return names, reserved

    def _pool_names(self, root: ET.Element) -> dict[str, str]:
        names = {}
        for source in root.findall("devices/disk/source[@pool]"):
            pool = source.get("pool", "")
            object_name = self.lister.owner.parse_pool(pool)
            if object_name is not None:
                names[pool] = address_name(object_name)
        return names
