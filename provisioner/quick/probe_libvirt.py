"""The quick check's read of a libvirt host: one digest of everything a plan's
libvirt inventory reads (``providers/libvirt/inventory.py``), without the values
that move while nothing changes.

It imports libvirt and the standard library only: it runs before the stack's
models are built. It must cover every value the inventory turns into a plan
input; a value it leaves out would let the quick check answer "no changes" where
a plan would see one. Read for each:

- storage pools: name, active, the definition (type and target path) without the
  sizes the running pool reports;
- volumes of active pools: name and key; the virtual size of this provider's own
  volumes (``sizes_of``: the stack's prefix), which a plan reads from the running
  guests' statistics or from the volume. Not the allocation, which grows as a
  guest writes;
- networks: name, active, definition, and the IPv4 leases of active ones (MAC and
  address; not the expiry);
- domains: name, id (changes when a guest restarts), state, autostart, the stored
  definition and, for a running one, the running definition. The running
  definition holds what the plan reads from the bulk statistics: vCPUs online and
  the maximum, the memory maximum, the disks by target and the NICs;
- the host's capabilities, if a check read them (the domain type, machine types).
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable
from typing import Any

import libvirt

_STORED = libvirt.VIR_DOMAIN_XML_INACTIVE
_SIZES = ("<capacity", "<allocation", "<available")


def digest(params: dict[str, str]) -> str:
    """The digest of the host ``params["uri"]`` names (``params["sizes_of"]``: the
    name prefix of the volumes whose sizes count)."""
    hasher = hashlib.sha256()
    libvirt.registerErrorHandler(_quiet, None)  # errors are raised, not printed
    conn = libvirt.open(params["uri"])
    try:
        add = _adder(hasher)
        _pools(conn, params.get("sizes_of", ""), add)
        _networks(conn, add)
        _domains(conn, add)
        if params.get("capabilities"):
            add("capabilities", conn.getCapabilities())
    finally:
        conn.close()
    return hasher.hexdigest()


def _quiet(_context: object, _error: object) -> None:
    return None


def _adder(hasher: Any) -> Callable[..., None]:
    def add(*parts: object) -> None:
        for part in parts:
            hasher.update(str(part).encode())
            hasher.update(b"\0")
    return add


def _by_name(items: Iterable[Any]) -> list[Any]:
    return sorted(items, key=lambda item: item.name())


def _pools(conn: libvirt.virConnect, sizes_of: str, add: Callable[..., None]) -> None:
    for pool in _by_name(conn.listAllStoragePools()):
        active = bool(pool.isActive())
        add("pool", pool.name(), active, _without_sizes(pool.XMLDesc(0)))
        if not active:
            continue
        for volume in _by_name(pool.listAllVolumes()):
            add("volume", volume.name(), volume.key())
            if sizes_of and volume.name().startswith(sizes_of):
                add(volume.info()[1])


def _without_sizes(pool_xml: str) -> str:
    """The pool's definition without the sizes a running pool reports (one element a
    line, as libvirt formats it; not every driver has the inactive definition)."""
    return "\n".join(line for line in pool_xml.splitlines()
                     if not line.lstrip().startswith(_SIZES))


def _networks(conn: libvirt.virConnect, add: Callable[..., None]) -> None:
    for network in _by_name(conn.listAllNetworks()):
        active = bool(network.isActive())
        add("network", network.name(), active, network.XMLDesc(0))
        if not active:
            continue
        try:
            leases = network.DHCPLeases() or []
        except libvirt.libvirtError:
            leases = []  # as the inventory: a network without leases has no addresses
        for lease in sorted(leases, key=lambda lease: (str(lease.get("mac")),
                                                       str(lease.get("ipaddr")))):
            add("lease", lease.get("type"), lease.get("mac"), lease.get("ipaddr"))


def _domains(conn: libvirt.virConnect, add: Callable[..., None]) -> None:
    autostart = {domain.name() for domain in
                 conn.listAllDomains(libvirt.VIR_CONNECT_LIST_DOMAINS_AUTOSTART)}
    for domain in _by_name(conn.listAllDomains()):
        name, ident = domain.name(), domain.ID()
        add("domain", name, ident, name in autostart, domain.XMLDesc(_STORED))
        if ident != -1:
            add(domain.state()[0], domain.XMLDesc(0))
