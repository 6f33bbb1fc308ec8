"""Field rules of the libvirt provider: how each field of each kind changes.

vCPUs and memory of a running guest change live up to the maxima it was
defined with (``options.max_cpus``, ``options.max_memory``): ``refine`` reads
them from the live guest, so the plan says "in place" exactly when ``update``
makes the change live (``guests.live_change_possible``).
"""

from __future__ import annotations

from typing import Any

from provisioner.core.resources import Effect, LiveObject
from provisioner.providers.base import GROWS, IN_PLACE, REPLACE, RESTART, KindSchema
from provisioner.providers.libvirt.guests import live_change_possible


def _refine_guest(path: str, before: Any, after: Any, live: LiveObject) -> Effect | None:
    """vCPUs and memory change live up to the maximum the guest was defined with."""
    if path in ("cpus", "memory") and live_change_possible(path, live, after):
        return Effect.IN_PLACE
    return None


GUEST_SCHEMA = KindSchema(
    fields={
        "cpus": RESTART,
        "memory": RESTART,
        "power": IN_PLACE,
        "autostart": IN_PLACE,
        "image": REPLACE,
        "clone": REPLACE,
        "node": REPLACE,
        "disks": RESTART,
        "disks[].size": GROWS,
        "disks[].pool": REPLACE,
        "disks[].image": REPLACE,
        "disks[].format": REPLACE,
        "disks[].volume": RESTART,
        "disks[].bus": RESTART,
        "disks[].slot": RESTART,
        "networks": RESTART,
        "cloud_init": REPLACE,
        "options": RESTART,
    },
    attributes=("uuid", "ip", "ips", "macs", "state", "serial_log", "max_cpus", "max_memory"),
    refine=_refine_guest,
    kept=frozenset({"networks[].mac"}),  # a NIC no longer told its MAC keeps the one it has
)
NETWORK_SCHEMA = KindSchema(
    fields={"mode": REPLACE, "cidr": REPLACE, "dhcp": REPLACE, "dhcp_range": IN_PLACE,
            "bridge": REPLACE, "domain": REPLACE, "options": IN_PLACE},
    attributes=("uuid", "bridge_name"),
    exclusive=("cidr",),  # libvirt: "Network is already in use by interface virbrN"
)
VOLUME_SCHEMA = KindSchema(
    fields={"size": GROWS, "pool": REPLACE, "format": REPLACE, "options": IN_PLACE},
    attributes=("path", "key", "volume", "pool"),
)
IMAGE_SCHEMA = KindSchema(
    # guests' disks are overlays of the volume: other content is another volume
    fields={"checksum": REPLACE, "format": REPLACE, "pool": REPLACE, "options": IN_PLACE},
    attributes=("pool", "volumes", "format"),
)
POOL_SCHEMA = KindSchema(
    fields={"type": REPLACE, "path": REPLACE, "options": IN_PLACE},
    attributes=("uuid", "pool"),
    exclusive=("path",),  # libvirt: "Storage source conflict with pool"
)
