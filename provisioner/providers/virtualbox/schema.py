"""How each guest field changes on VirtualBox, for the planner and for ``update`` alike.

``modifyvm`` locks the VM for writing, which VirtualBox refuses while it runs
("already locked for a session"): vCPUs, memory, firmware, OS type, autostart,
NIC count, MACs and NIC types need the guest off (RESTART). ``controlvm``
changes a few things live: a NIC's attachment (``controlvm VM nicN nat``, a
bridge, a host-only interface, an internal network) and NAT port forwards
(``controlvm VM natpfN``), so those are IN_PLACE. Disks are added and removed
with the guest off (``storageattach`` hot-plug needs ports marked hot-pluggable
and a guest that copes: a plan cannot know); a disk grows in place only while
the guest is off (``modifymedium --resize`` on a disk a running VM holds is
refused as locked), so ``refine`` makes a grow of a running guest's disk a
restart.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from provisioner.core.resources import Effect, LiveObject
from provisioner.providers.base import GROWS, IN_PLACE, REPLACE, RESTART, FieldRule, KindSchema

ATTRIBUTES = ("uuid", "state", "macs", "config_file", "seed")

GUEST_FIELDS: Mapping[str, FieldRule] = {
    "cpus": RESTART, "memory": RESTART, "power": IN_PLACE, "autostart": RESTART,
    "image": REPLACE, "clone": REPLACE, "node": REPLACE,
    "disks": RESTART, "disks[].size": GROWS, "disks[].pool": REPLACE,
    "disks[].image": REPLACE, "disks[].volume": REPLACE, "disks[].format": REPLACE,
    "disks[].bus": REPLACE, "disks[].slot": REPLACE,
    "networks": RESTART, "networks[].host_network": IN_PLACE, "networks[].bridge": IN_PLACE,
    "networks[].forwards": IN_PLACE, "networks[].mac": RESTART, "networks[].model": RESTART,
    "networks[].network": REPLACE, "networks[].ip": REPLACE, "networks[].vlan": REPLACE,
    "networks[].firewall": REPLACE,
    "cloud_init": REPLACE,
    "options": RESTART, "options.disk_format": REPLACE,
}


def refine(path: str, before: Any, after: Any, live: LiveObject) -> Effect | None:
    """A disk of a running guest grows with a restart (see the module)."""
    if path.startswith("disks[") and path.endswith("].size") and live.running:
        return Effect.RESTART
    return None


GUEST_SCHEMA = KindSchema(fields=GUEST_FIELDS, attributes=ATTRIBUTES, refine=refine,
                          kept=frozenset({"networks[].mac"}))
