"""How each guest field changes on Hyper-V, for the planner and for ``update`` alike.

Hyper-V refuses to change a running VM's processor count, static memory, dynamic
memory switch, firmware (secure boot), a NIC's static MAC and, on IDE (generation
1), its disks: those need the guest off (RESTART). It changes live: the switch an
adapter is connected to (``Connect-VMNetworkAdapter``), the Notes (the marker:
``prevent_destroy``), and the size of a VHDX on a SCSI controller
(``Resize-VHD`` online: generation 2 only; ``refine`` makes a grow of a generation
1 guest's disk a restart). Disks and NICs are added and removed with the guest off:
generation 2 can hot-add both, but whether the guest copes cannot be known from a
plan. A new generation is a new VM (REPLACE).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from provisioner.core.resources import Effect, LiveObject
from provisioner.providers.base import GROWS, IN_PLACE, REPLACE, RESTART, FieldRule, KindSchema

ATTRIBUTES = ("id", "state", "macs", "path", "folder", "seed")

GUEST_FIELDS: Mapping[str, FieldRule] = {
    "cpus": RESTART, "memory": RESTART, "power": IN_PLACE, "autostart": REPLACE,
    "image": REPLACE, "clone": REPLACE, "node": REPLACE,
    "disks": RESTART, "disks[].size": GROWS, "disks[].pool": REPLACE,
    "disks[].image": REPLACE, "disks[].volume": REPLACE, "disks[].format": REPLACE,
    "disks[].bus": REPLACE, "disks[].slot": REPLACE,
    "networks": RESTART, "networks[].host_network": IN_PLACE, "networks[].mac": RESTART,
    "networks[].bridge": REPLACE, "networks[].forwards": REPLACE, "networks[].model": REPLACE,
    "networks[].network": REPLACE, "networks[].ip": REPLACE, "networks[].vlan": REPLACE,
    "networks[].firewall": REPLACE,
    "cloud_init": REPLACE,
    "options": RESTART, "options.generation": REPLACE,
}


def refine(path: str, before: Any, after: Any, live: LiveObject) -> Effect | None:
    """A disk of a running generation 1 guest grows with a restart (see the module)."""
    if path.startswith("disks[") and path.endswith("].size") and live.running and \
            (live.spec.get("options") or {}).get("generation") == 1:
        return Effect.RESTART
    return None


GUEST_SCHEMA = KindSchema(fields=GUEST_FIELDS, attributes=ATTRIBUTES, refine=refine,
                          kept=frozenset({"networks[].mac", "options.memory_minimum",
                                          "options.memory_maximum"}))
