"""Virtual networks: define, start and autostart; stop and undefine."""

from __future__ import annotations

import libvirt

from provisioner.errors import CreateFailedError, ObjectNotFoundError, ProviderError
from provisioner.providers.libvirt.client import LibvirtClient
from provisioner.providers.libvirt.mapping import network_xml
from provisioner.resources import LiveObject, Resource


class Networks:
    """Network operations for one stack."""

    def __init__(self, client: LibvirtClient, stack: str) -> None:
        self.client = client
        self.stack = stack

    def create(self, resource: Resource) -> libvirt.virNetwork:
        """Define, start and set autostart; on failure the definition is removed."""
        what = str(resource.address)
        xml = network_xml(resource, self.stack)
        network = self.client.call("write", what, self.client.conn.networkDefineXML, xml)
        try:
            self.client.call("write", what, network.create)
            self.client.call("write", what, network.setAutostart, 1)
        except ProviderError as exc:
            leftovers = self._remove(network)
            raise CreateFailedError(exc.message, exc.hint, address=what,
                                    leftovers=leftovers) from exc
        return network

    def redefine(self, resource: Resource, live: LiveObject) -> libvirt.virNetwork:
        """Store a new definition (metadata, settings) and restart the network."""
        what = str(resource.address)
        network = self.lookup(live)
        self.client.call("write", what, self.client.conn.networkDefineXML,
                         network_xml(resource, self.stack))
        if self.client.call("read", what, network.isActive):
            self.client.call("write", what, network.destroy)
        self.client.call("write", what, network.create)
        return network

    def delete(self, live: LiveObject) -> None:
        """Stop and undefine; already gone is success."""
        what = str(live.address)
        try:
            network = self.lookup(live)
            if self.client.call("read", what, network.isActive):
                self.client.call("write", what, network.destroy)
            self.client.call("write", what, network.undefine)
        except ObjectNotFoundError:
            return

    def lookup(self, live: LiveObject) -> libvirt.virNetwork:
        return self.client.call("read", str(live.address),
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
