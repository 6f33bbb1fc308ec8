"""LibvirtProvider: the provider contract on one libvirt connection.

Bulk read (``list_managed``): one listing of pools and of each pool's volumes,
one of networks, one of domains and one of autostart domains, whatever the
number of guests; then one XML read per object of the listing (libvirt has
no bulk XML call), counted apart as "read" calls by ``--stats``.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Mapping, Sequence
from typing import Any

import libvirt

from provisioner.errors import ObjectNotFoundError, ProviderError
from provisioner.providers.base import (
    CallKind,
    Capacity,
    FieldRule,
    HostCapacity,
    Inventory,
    KindSchema,
    Owner,
    PoolCapacity,
    Provider,
    ProviderSchema,
)
from provisioner.providers.libvirt import LibvirtConfig
from provisioner.providers.libvirt.adopt import adopt
from provisioner.providers.libvirt.client import LibvirtClient
from provisioner.providers.libvirt.guests import Guests
from provisioner.providers.libvirt.mapping import VolumeInfo, read_guest, read_network
from provisioner.providers.libvirt.naming import parse_owner, parse_volume_name
from provisioner.providers.libvirt.networks import Networks
from provisioner.providers.libvirt.storage import Storage, VolumeListing
from provisioner.resources import Effect, LiveObject, Resource, address_name
from provisioner.stack.address import Address, Kind
from provisioner.units import Bytes

IN_PLACE = FieldRule(Effect.IN_PLACE)
RESTART = FieldRule(Effect.RESTART)
REPLACE = FieldRule(Effect.REPLACE)

GUEST_SCHEMA = KindSchema(
    fields={
        "cpus": RESTART,
        "memory": RESTART,
        "power": IN_PLACE,
        "autostart": IN_PLACE,
        "image": REPLACE,
        "disks": RESTART,
        "disks[].size": FieldRule(Effect.IN_PLACE, grow_only=True),
        "disks[].pool": REPLACE,
        "disks[].image": REPLACE,
        "disks[].format": REPLACE,
        "disks[].volume": RESTART,
        "disks[].bus": RESTART,
        "networks": RESTART,
        "cloud_init": REPLACE,
        "options": RESTART,
    },
    attributes=("uuid", "macs", "state"),
)
NETWORK_SCHEMA = KindSchema(
    fields={"mode": REPLACE, "cidr": REPLACE, "dhcp": REPLACE, "bridge": REPLACE,
            "domain": IN_PLACE, "options": IN_PLACE},
    attributes=("uuid", "bridge_name"),
)
VOLUME_SCHEMA = KindSchema(
    fields={"size": FieldRule(Effect.IN_PLACE, grow_only=True), "pool": REPLACE,
            "format": REPLACE, "options": REPLACE},
    attributes=("path", "key"),
)


class LibvirtProvider(Provider):
    """Guests, networks and volumes of one stack on one libvirt URI."""

    type_name = "libvirt"

    def __init__(self, name: str, config: Any, owner: Owner) -> None:
        super().__init__(name, config, owner)
        self.settings: LibvirtConfig = config
        self.client = LibvirtClient(self.settings.uri, self.stats)
        self.storage = Storage(self.client, owner.stack)
        self.networks = Networks(self.client, owner.stack)
        domain_type = "qemu" if self.settings.domain_type == "auto" else self.settings.domain_type
        self.guests = Guests(self.client, self.storage, owner.stack, self.settings.pool,
                             domain_type)

    def schema(self) -> ProviderSchema:
        return ProviderSchema(
            kinds={Kind.GUEST: GUEST_SCHEMA, Kind.NETWORK: NETWORK_SCHEMA,
                   Kind.VOLUME: VOLUME_SCHEMA},
            max_parallel=self.settings.max_parallel,
        )

    def list_managed(self) -> Inventory:
        volumes = self.storage.list()
        managed: list[LiveObject] = []
        foreign: dict[Kind, dict[str, str]] = {Kind.GUEST: {}, Kind.NETWORK: {}}
        networks = self._list_networks(managed, foreign[Kind.NETWORK])
        self._list_guests(managed, foreign[Kind.GUEST], volumes, networks)
        managed += self._volume_objects(volumes)
        return Inventory(managed=managed, foreign=foreign)

    def _list_networks(
        self, managed: list[LiveObject], foreign: dict[str, str]
    ) -> dict[str, str]:
        """Adds this stack's networks to ``managed``; returns libvirt name → resource name."""
        names: dict[str, str] = {}
        for network in self.client.call(CallKind.LIST, "networks",
                                        self.client.conn.listAllNetworks):
            found = self._network_object(network, managed, foreign)
            if found is not None:
                names[network.name()] = found.address.name
        return names

    def _network_object(
        self, network: libvirt.virNetwork, managed: list[LiveObject], foreign: dict[str, str]
    ) -> LiveObject | None:
        """Add the network to ``managed`` if this stack owns it, else to ``foreign``.
        A network deleted between the listing and this read is skipped."""
        try:
            xml = self.client.call(CallKind.READ, network.name(), network.XMLDesc, 0)
        except ObjectNotFoundError:
            return None
        root = ET.fromstring(xml)
        tag = parse_owner(root)
        if tag is None or tag.stack != self.owner.stack:
            foreign[network.name()] = "untagged" if tag is None else f"stack {tag.stack}"
            return None
        bridge = root.find("bridge")
        managed.append(LiveObject(
            address=tag.address, provider=self.name, name=network.name(),
            id=network.UUIDString(), spec=read_network(root, tag.spec),
            attributes={"uuid": network.UUIDString(),
                        "bridge_name": bridge.get("name") if bridge is not None else None},
        ))
        return managed[-1]

    def _list_guests(
        self, managed: list[LiveObject], foreign: dict[str, str], volumes: VolumeListing,
        networks: Mapping[str, str],
    ) -> None:
        conn = self.client.conn
        autostart = {d.name() for d in self.client.call(CallKind.LIST, "autostart domains",
                                                        conn.listAllDomains,
            libvirt.VIR_CONNECT_LIST_DOMAINS_AUTOSTART)}
        for domain in self.client.call(CallKind.LIST, "domains", conn.listAllDomains):
            try:
                xml = self.client.call(CallKind.READ, domain.name(), domain.XMLDesc, 0)
            except ObjectNotFoundError:
                continue  # deleted between the listing and this read
            root = ET.fromstring(xml)
            tag = parse_owner(root)
            if tag is None or tag.stack != self.owner.stack:
                foreign[domain.name()] = "untagged" if tag is None else f"stack {tag.stack}"
                continue
            managed.append(self._guest_object(domain, root, tag.address, tag.spec, volumes,
                                              networks, domain.name() in autostart))

    def _guest_object(
        self, domain: libvirt.virDomain, root: ET.Element, address: Address,
        applied: Mapping[str, Any], volumes: VolumeListing, networks: Mapping[str, str],
        autostart: bool,
    ) -> LiveObject:
        running = domain.ID() != -1  # the id is known locally: no call
        spec = read_guest(root, applied, volumes.volumes, self.owner.stack, networks)
        spec["power"] = "running" if running else "stopped"
        spec["autostart"] = autostart
        deps = [Address(Kind.NETWORK, n["network"]) for n in spec["networks"] if n["network"]]
        deps += [Address(Kind.VOLUME, d["volume"]) for d in spec["disks"] if d["volume"]]
        macs = [n["mac"] for n in spec["networks"] if n["mac"]]
        return LiveObject(
            address=address, provider=self.name, name=domain.name(), id=domain.UUIDString(),
            spec=spec, running=running, deps=tuple(deps),
            attributes={"uuid": domain.UUIDString(), "macs": macs,
                        "state": "running" if running else "stopped"},
        )

    def _volume_objects(self, listing: VolumeListing) -> list[LiveObject]:
        objects = []
        for (pool, name), info in listing.volumes.items():
            parsed = parse_volume_name(name)
            if parsed is None or parsed.disk is not None:
                continue
            objects.append(_volume_object(self.name, info, parsed.object,
                                          listing.keys[(pool, name)]))
        return objects

    def capacity(self) -> Capacity:
        conn = self.client.conn
        info = self.client.call(CallKind.READ, "host", conn.getInfo)
        free = self.client.call(CallKind.READ, "host", conn.getFreeMemory)
        pools = []
        for pool in self.client.call(CallKind.LIST, "storage pools", conn.listAllStoragePools,
                                     libvirt.VIR_CONNECT_LIST_STORAGE_POOLS_ACTIVE):
            state = self.client.call(CallKind.READ, pool.name(), pool.info)
            pools.append(PoolCapacity(pool.name(), int(state[1]), int(state[3])))
        hostname = self.client.call(CallKind.READ, "host", conn.getHostname)
        host = HostCapacity(node=hostname, cpus=int(info[2]),
                            memory_total=int(info[1]) * 1024 * 1024, memory_free=int(free))
        return Capacity(hosts=[host], pools=pools)

    def create(self, resource: Resource) -> LiveObject:
        if resource.kind is Kind.GUEST:
            self.guests.create(resource)
        elif resource.kind is Kind.NETWORK:
            self.networks.create(resource)
        else:
            self._create_volume(resource)
        return self._read_back(resource)

    def update(self, resource: Resource, live: LiveObject, changed: Sequence[str]) -> LiveObject:
        if resource.kind is Kind.GUEST:
            self.guests.update(resource, live, changed)
        elif resource.kind is Kind.NETWORK:
            self.networks.redefine(resource, live)
        else:
            self._update_volume(resource, live, changed)
        return self._read_back(resource)

    def delete(self, live: LiveObject) -> None:
        if live.kind is Kind.GUEST:
            self.guests.delete(live)
        elif live.kind is Kind.NETWORK:
            self.networks.delete(live)
        else:
            self.storage.delete(str(live.spec.get("pool")), str(live.attributes["volume"]))

    def adopt(self, address: Address, name: str) -> LiveObject:
        adopt(self.client, self.owner.stack, address, name)
        return self._read_back(Resource(address, self.name, {}, object_name=name))

    def close(self) -> None:
        self.client.close()

    def _create_volume(self, resource: Resource) -> None:
        spec = resource.spec
        name = self._volume_name(resource)
        pool = spec.get("pool") or self.settings.pool
        if self.storage.lookup(pool, name) is not None:
            return  # an earlier attempt made it; recreating would lose its data
        self.storage.create(pool, name, spec["size"], spec.get("format") or "qcow2")

    def _update_volume(self, resource: Resource, live: LiveObject, changed: Sequence[str]) -> None:
        if "size" in changed:
            self.storage.resize(str(live.spec.get("pool")), str(live.attributes["volume"]),
                                int(resource.spec["size"]))

    def _volume_name(self, resource: Resource) -> str:
        suffix = ".img" if resource.spec.get("format") == "raw" else ".qcow2"
        return f"{self.owner.stack}__{resource.name}{suffix}"

    def _read_back(self, resource: Resource) -> LiveObject:
        """The object as the next plan will see it, read with a few targeted calls."""
        what = str(resource.address)
        conn = self.client.conn
        if resource.kind is Kind.VOLUME:
            pool = resource.spec.get("pool") or self.settings.pool
            name = self._volume_name(resource)
            volume = self.storage.lookup(pool, name)
            if volume is None:
                raise ProviderError(f"{what}: created, but volume {pool}/{name} is missing")
            info = self.client.call(CallKind.READ, what, volume.info)
            fmt = "raw" if name.endswith(".img") else "qcow2"
            return _volume_object(self.name, VolumeInfo(pool, name, int(info[1]), fmt),
                                  resource.name, volume.key())
        if resource.kind is Kind.NETWORK:
            network = self.client.call(CallKind.READ, what, conn.networkLookupByName, resource.name)
            managed: list[LiveObject] = []
            self._network_object(network, managed, {})
            return managed[0]
        domain = self.client.call(CallKind.READ, what, conn.lookupByName, resource.name)
        root = ET.fromstring(self.client.call(CallKind.READ, what, domain.XMLDesc, 0))
        tag = parse_owner(root)
        if tag is None:
            raise ProviderError(f"{what}: the domain lost its ownership tag while being written")
        autostart = bool(self.client.call(CallKind.READ, what, domain.autostart))
        return self._guest_object(domain, root, tag.address, tag.spec, self._disk_volumes(root),
                                  self._tagged_networks(root), autostart)

    def _disk_volumes(self, root: ET.Element) -> VolumeListing:
        listing = VolumeListing()
        for source in root.findall("devices/disk/source"):
            pool, name = source.get("pool"), source.get("volume")
            if not pool or not name:
                continue
            volume = self.storage.lookup(pool, name)
            if volume is not None:
                capacity = int(self.client.call(CallKind.READ, name, volume.info)[1])
                fmt = "raw" if name.endswith(".img") else "qcow2"
                listing.volumes[(pool, name)] = VolumeInfo(pool, name, capacity, fmt)
        return listing

    def _tagged_networks(self, root: ET.Element) -> dict[str, str]:
        """libvirt name → resource name of this stack's networks the guest uses."""
        tagged: dict[str, str] = {}
        for source in root.findall("devices/interface/source[@network]"):
            name = source.get("network", "")
            network = self.client.call(CallKind.READ, name,
                                       self.client.conn.networkLookupByName, name)
            tag = parse_owner(ET.fromstring(self.client.call(CallKind.READ, name,
                                                             network.XMLDesc, 0)))
            if tag is not None and tag.stack == self.owner.stack:
                tagged[name] = tag.address.name
        return tagged


def _volume_object(provider: str, info: VolumeInfo, object_name: str, key: str) -> LiveObject:
    """A ``volumes:`` entry; ``object_name`` is its name without stack and suffix."""
    return LiveObject(
        address=Address(Kind.VOLUME, address_name(object_name)), provider=provider,
        name=object_name, id=key,
        spec={"size": Bytes(info.capacity), "pool": info.pool, "format": info.format,
              "options": {}},
        attributes={"path": key, "key": key, "volume": info.name},
    )
