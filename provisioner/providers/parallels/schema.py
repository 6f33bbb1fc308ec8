"""How each guest field changes on Parallels Desktop, for the planner and for ``update`` alike.

Parallels refuses to change a running VM's hardware: ``prlctl set`` of vCPUs,
memory, a disk's size, and adding or removing disks, CD drives or NICs, a NIC's
MAC or adapter type, need the guest stopped (RESTART). Autostart is written
with the guest off too: what prlctl allows on a running VM has not been seen
here, and a restart the plan announced is better than a refusal half-way
through an apply. What is known to change live is a NIC's network (Shared,
Host-Only, bridged: the Devices menu of a running VM switches it, and
``--device-set netN --type`` does the same), so those are IN_PLACE; a disk
grows in place only while the guest is off (``refine``); the distribution
(``--distribution``) is written with the guest off. New cloud-init data is a
new VM.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from provisioner.core.resources import PROTECTION_PATH, Effect, LiveObject
from provisioner.providers.base import GROWS, IN_PLACE, REPLACE, RESTART, FieldRule, KindSchema
from provisioner.providers.kit.changes import effect_of, value_at

ATTRIBUTES = ("uuid", "state", "macs", "home", "seed")

GUEST_FIELDS: Mapping[str, FieldRule] = {
    "cpus": RESTART, "memory": RESTART, "power": IN_PLACE, "autostart": RESTART,
    "image": REPLACE, "clone": REPLACE, "node": REPLACE,
    "disks": RESTART, "disks[].size": GROWS, "disks[].pool": REPLACE,
    "disks[].image": REPLACE, "disks[].volume": REPLACE, "disks[].format": REPLACE,
    "disks[].bus": REPLACE, "disks[].slot": REPLACE,
    "networks": RESTART, "networks[].host_network": IN_PLACE, "networks[].bridge": IN_PLACE,
    "networks[].mac": RESTART, "networks[].model": RESTART,
    "networks[].network": REPLACE, "networks[].ip": REPLACE, "networks[].vlan": REPLACE,
    "networks[].firewall": REPLACE, "networks[].forwards": REPLACE,
    "cloud_init": REPLACE,
    "options": RESTART,
}


def refine(path: str, before: Any, after: Any, live: LiveObject) -> Effect | None:
    """A disk of a running guest grows with a restart (see the module)."""
    if path.startswith("disks[") and path.endswith("].size") and live.running:
        return Effect.RESTART
    return None


GUEST_SCHEMA = KindSchema(fields=GUEST_FIELDS, attributes=ATTRIBUTES, refine=refine,
                          kept=frozenset({"networks[].mac", "networks[].model"}))


def needs_halt(changed: Sequence[str], live: LiveObject, desired: Mapping[str, Any]) -> bool:
    """Whether ``update`` must stop the guest for ``changed``: a field whose effect is
    not "in place"."""
    return any(effect_of(GUEST_SCHEMA, path, live, desired) is not Effect.IN_PLACE
               for path in changed if path not in ("power", PROTECTION_PATH)
               and not (value_at(desired, path) is None and GUEST_SCHEMA.keeps(path)))
