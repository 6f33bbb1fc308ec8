"""Virtual networks: define, start and autostart; stop and undefine; DHCP reservations.

A guest's fixed address is a DHCP ``<host>`` entry in its network, added when
the guest is created and removed when it is deleted; redefinitions keep them.
"""

from __future__ import annotations

import contextlib
import xml.etree.ElementTree as ET
from collections.abc import Sequence

import libvirt

from provisioner.core.resources import LiveObject, Resource
from provisioner.core.specs import NetworkSpec
from provisioner.errors import CreateFailedError, ObjectNotFoundError, ProviderError
from provisioner.providers.base import CallKind
from provisioner.providers.libvirt.client import LibvirtClient
from provisioner.providers.libvirt.network_xml import (
    dhcp_bounds,
    host_elements,
    host_xml,
    network_xml,
)
from provisioner.providers.libvirt.ownership import Ownership
from provisioner.testing import kill_point


class Networks:
    """Network operations for one provider block."""

    def __init__(self, client: LibvirtClient, owner: Ownership) -> None:
        self.client = client
        self.owner = owner

    def create(self, resource: Resource) -> libvirt.virNetwork:
        """Define, start and set autostart; on failure the definition is removed.
        A network an earlier attempt defined is finished, never defined again."""
        what = str(resource.address)
        network = self._earlier_attempt(resource)
        if network is None:
            network = self.client.call(CallKind.WRITE, what, self.client.conn.networkDefineXML,
                                       network_xml(resource, self.owner))
            kill_point(f"libvirt:network-defined:{resource.address}")
        try:
            if not self.client.call(CallKind.READ, what, network.isActive):
                self.client.call(CallKind.WRITE, what, network.create)
            self.client.call(CallKind.WRITE, what, network.setAutostart, 1)
        except ProviderError as exc:
            leftovers = self._remove(network)
            raise CreateFailedError(exc.message.removeprefix(f"{what}: "), exc.hint,
                                    address=what, leftovers=leftovers) from exc
        return network

    def _earlier_attempt(self, resource: Resource) -> libvirt.virNetwork | None:
        """The network an earlier create of this resource defined, or None; a
        network of that name owned by anything else is refused."""
        what = str(resource.address)
        try:
            network = self.client.call(CallKind.READ, what,
                                       self.client.conn.networkLookupByName, resource.name)
        except ObjectNotFoundError:
            return None
        root = ET.fromstring(self.client.call(CallKind.READ, what, network.XMLDesc, 0))
        self.owner.require_own(root, resource.address, "network")
        return network

    def update(self, resource: Resource, live: LiveObject,
               changed: Sequence[str]) -> libvirt.virNetwork:
        """Move the DHCP range live (the only setting libvirt changes on a running
        network), then store the new definition, keeping the guests' reservations."""
        what = str(resource.address)
        network = self.lookup(live)
        if any(path.startswith("dhcp_range") for path in changed):
            old = dhcp_bounds(NetworkSpec.of(live.spec))
            new = dhcp_bounds(NetworkSpec.of(resource.spec))
            if old[0] and old[1]:
                self._update_range(network, libvirt.VIR_NETWORK_UPDATE_COMMAND_DELETE, old, what)
            if new[0] and new[1]:
                self._update_range(network, libvirt.VIR_NETWORK_UPDATE_COMMAND_ADD_LAST, new,
                                   what)
        current = ET.fromstring(self.client.call(CallKind.READ, what, network.XMLDesc, 0))
        self.client.call(CallKind.WRITE, what, self.client.conn.networkDefineXML,
                         network_xml(resource, self.owner, live.id, host_elements(current)))
        return network

    def _update_range(self, network: libvirt.virNetwork, command: int,
                      bounds: tuple[str | None, str | None], what: str) -> None:
        xml = ET.tostring(ET.Element("range", {"start": bounds[0] or "", "end": bounds[1] or ""}),
                          encoding="unicode")
        self._update(network, command, xml, what, libvirt.VIR_NETWORK_SECTION_IP_DHCP_RANGE)

    def delete(self, live: LiveObject) -> None:
        """Stop and undefine; already gone is success."""
        what = str(live.address)
        try:
            network = self.lookup(live)
            if self.client.call(CallKind.READ, what, network.isActive):
                self.client.call(CallKind.WRITE, what, network.destroy)
            self.client.call(CallKind.WRITE, what, network.undefine)
        except ObjectNotFoundError:
            return

    def lookup(self, live: LiveObject) -> libvirt.virNetwork:
        return self.client.call(CallKind.READ, str(live.address),
                                self.client.conn.networkLookupByUUIDString, live.id)

    def reserve(self, network_name: str, mac: str, host: str, ip: str, what: str) -> None:
        """Add (or move) the DHCP reservation of ``mac`` to ``ip``."""
        network = self.client.call(CallKind.READ, what, self.client.conn.networkLookupByName,
                                   network_name)
        self.release(network_name, mac, what)
        self._update(network, libvirt.VIR_NETWORK_UPDATE_COMMAND_ADD_LAST,
                     host_xml(mac, host, ip), what, libvirt.VIR_NETWORK_SECTION_IP_DHCP_HOST)

    def release(self, network_name: str, mac: str, what: str) -> None:
        """Remove the reservation of ``mac``; none, or no network, is fine."""
        try:
            network = self.client.call(CallKind.READ, what,
                                       self.client.conn.networkLookupByName, network_name)
            root = ET.fromstring(self.client.call(CallKind.READ, what, network.XMLDesc, 0))
        except ObjectNotFoundError:
            return
        for host in host_elements(root):
            if host.get("mac", "").lower() == mac.lower():
                with contextlib.suppress(ObjectNotFoundError):
                    self._update(network, libvirt.VIR_NETWORK_UPDATE_COMMAND_DELETE,
                                 ET.tostring(host, encoding="unicode"), what,
                                 libvirt.VIR_NETWORK_SECTION_IP_DHCP_HOST)

    def _update(self, network: libvirt.virNetwork, command: int, xml: str, what: str,
                section: int) -> None:
        flags = libvirt.VIR_NETWORK_UPDATE_AFFECT_CONFIG
        if self.client.call(CallKind.READ, what, network.isActive):
            flags |= libvirt.VIR_NETWORK_UPDATE_AFFECT_LIVE
        self.client.call(CallKind.WRITE, what, network.update, command, section, -1, xml, flags)

    @staticmethod
    def _remove(network: libvirt.virNetwork) -> list[str]:
        try:
            if network.isActive():
                network.destroy()
            network.undefine()
        except libvirt.libvirtError:
            return [f"network {network.name()}"]
        return []
