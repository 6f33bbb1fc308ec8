"""Virtual networks: define, start and autostart; stop and undefine."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import libvirt

from provisioner.errors import CreateFailedError, ObjectNotFoundError, ProviderError
from provisioner.providers.base import CallKind
from provisioner.providers.libvirt.client import LibvirtClient
from provisioner.providers.libvirt.mapping import network_xml
from provisioner.providers.libvirt.naming import require_own
from provisioner.resources import LiveObject, Resource


class Networks:
    """Network operations for one stack."""

    def __init__(self, client: LibvirtClient, stack: str) -> None:
        self.client = client
        self.stack = stack

    def create(self, resource: Resource) -> libvirt.virNetwork:
        """Define, start and set autostart; on failure the definition is removed.
        A network an earlier attempt defined is finished, never defined again."""
        what = str(resource.address)
        network = self._earlier_attempt(resource)
        if network is None:
            xml = network_xml(resource, self.stack)
            network = self.client.call(CallKind.WRITE, what, self.client.conn.networkDefineXML, xml)
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
            network = self.client.call(CallKind.READ, what, self.client.conn.networkLookupByName,
                                       resource.name)
        except ObjectNotFoundError:
            return None
        root = ET.fromstring(self.client.call(CallKind.READ, what, network.XMLDesc, 0))
        require_own(root, self.stack, resource.address, "network")
        return network

    def redefine(self, resource: Resource, live: LiveObject) -> libvirt.virNetwork:
        """Store a new definition (metadata, settings) and restart the network."""
        what = str(resource.address)
        network = self.lookup(live)
        self.client.call(CallKind.WRITE, what, self.client.conn.networkDefineXML,
                         network_xml(resource, self.stack, live.id))
        if self.client.call(CallKind.READ, what, network.isActive):
            self.client.call(CallKind.WRITE, what, network.destroy)
        self.client.call(CallKind.WRITE, what, network.create)
        return network

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

    @staticmethod
    def _remove(network: libvirt.virNetwork) -> list[str]:
        try:
            if network.isActive():
                network.destroy()
            network.undefine()
        except libvirt.libvirtError:
            return [f"network {network.name()}"]
        return []
