"""Adoption (``provisioner import``): tag an existing domain or network as this stack's.

Only objects no stack owns are adopted; the tag is the only change made. Volumes
carry their ownership in their name, so adopting one would mean renaming (and
moving) it: refused, with the way to do it by hand.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Callable
from typing import Any

import libvirt

from provisioner.core.address import Address, Kind
from provisioner.errors import ObjectNotFoundError, ProviderError
from provisioner.providers.base import CallKind
from provisioner.providers.libvirt.client import LibvirtClient
from provisioner.providers.libvirt.domain_xml import HostView, read_guest
from provisioner.providers.libvirt.network_xml import read_network
from provisioner.providers.libvirt.ownership import OWNER_NS, OWNER_PREFIX, Ownership, parse_owner


def adopt(client: LibvirtClient, owner: Ownership, address: Address, name: str) -> None:
    """Write the ownership tag on the domain or network ``name``."""
    if address.kind is Kind.GUEST:
        _adopt_domain(client, owner, address, name)
    elif address.kind is Kind.NETWORK:
        _adopt_network(client, owner, address, name)
    else:
        raise ProviderError(
            f"{address}: libvirt volumes are owned by their name and cannot be adopted",
            hint=f"copy the volume to {owner.volume_name(address.name)} in its pool "
                 "(virsh vol-clone), then plan: the copy is the stack's volume")


def _adopt_domain(client: LibvirtClient, owner: Ownership, address: Address, name: str) -> None:
    conn = client.conn
    domain = _lookup(client, address, name, conn.lookupByName, conn.listAllDomains)
    root = ET.fromstring(client.call(CallKind.READ, name, domain.XMLDesc, 0))
    _refuse_owned(root, address, name)
    spec = read_guest(root, {}, HostView({}, {}, {}, {}), owner.prefix)
    flags = libvirt.VIR_DOMAIN_AFFECT_CONFIG
    if client.call(CallKind.READ, name, domain.isActive):
        flags |= libvirt.VIR_DOMAIN_AFFECT_LIVE
    client.call(CallKind.WRITE, str(address), domain.setMetadata,
                libvirt.VIR_DOMAIN_METADATA_ELEMENT,
                owner.tag(address, spec, namespaced=False),
                OWNER_PREFIX, OWNER_NS, flags)


def _adopt_network(client: LibvirtClient, owner: Ownership, address: Address,
                   name: str) -> None:
    conn = client.conn
    network = _lookup(client, address, name, conn.networkLookupByName, conn.listAllNetworks)
    root = ET.fromstring(client.call(CallKind.READ, name, network.XMLDesc, 0))
    _refuse_owned(root, address, name)
    metadata = root.find("metadata")
    if metadata is None:
        metadata = ET.Element("metadata")
        root.insert(2, metadata)  # after name and uuid, where libvirt writes it
    metadata.append(ET.fromstring(owner.tag(address, read_network(root, {}))))
    client.call(CallKind.WRITE, str(address), conn.networkDefineXML,
                ET.tostring(root, encoding="unicode"))


def _lookup(client: LibvirtClient, address: Address, name: str,
            lookup: Callable[[str], Any], listing: Callable[[], list[Any]]) -> Any:
    try:
        return client.call(CallKind.READ, name, lookup, name)
    except ObjectNotFoundError:
        names = sorted(o.name() for o in client.call(CallKind.LIST, "objects", listing))
        raise ProviderError(f"{address}: no {address.kind.singular} named '{name}' to adopt",
                            hint="existing: " + (", ".join(names) or "none")) from None


def _refuse_owned(root: ET.Element, address: Address, name: str) -> None:
    tag = parse_owner(root)
    if tag is not None:
        raise ProviderError(f"{address}: '{name}' already belongs to {tag.address} of stack "
                            f"{tag.stack}", hint="only objects no stack owns can be adopted")
