"""How each guest field changes on XAPI, for the planner and for ``update`` alike.

What XAPI allows a running VM decides the rules (``xapi_vm_lifecycle``): vCPUs,
the static memory range and the platform need the VM halted; the dynamic
memory range changes live; a NIC moves to another network live
(``VIF.move``); a disk grows live only where the SR's driver says so
(``VDI_RESIZE_ONLINE``). Adding or removing disks and NICs of a running VM
needs the guest's PV drivers to hot-plug them, which a plan cannot know, so
the plan promises a restart. ``refine`` reads the live VM, so the plan says
"requires restart" exactly when ``update`` will restart the guest.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from provisioner.core.resources import PROTECTION_PATH, Effect, LiveObject
from provisioner.providers.base import GROWS, IN_PLACE, REPLACE, RESTART, FieldRule, KindSchema
from provisioner.providers.kit.changes import effect_of, value_at
from provisioner.providers.xenserver.read import ATTRIBUTES

GUEST_FIELDS: Mapping[str, FieldRule] = {
    "cpus": RESTART, "memory": RESTART, "power": IN_PLACE, "autostart": IN_PLACE,
    "image": REPLACE, "clone": REPLACE, "node": RESTART,
    "disks": RESTART, "disks[].size": GROWS, "disks[].pool": REPLACE,
    "disks[].image": REPLACE, "disks[].volume": REPLACE, "disks[].format": REPLACE,
    "disks[].bus": REPLACE, "disks[].slot": REPLACE,
    "networks": RESTART, "networks[].host_network": IN_PLACE, "networks[].bridge": IN_PLACE,
    "networks[].mac": RESTART, "networks[].network": REPLACE, "networks[].model": REPLACE,
    "networks[].ip": REPLACE, "networks[].vlan": REPLACE, "networks[].firewall": REPLACE,
    "cloud_init": REPLACE,
    "options": RESTART, "options.description": IN_PLACE, "options.tags": IN_PLACE,
    "options.memory_min": IN_PLACE, "options.full_copy": IN_PLACE, "options.firmware": REPLACE,
}


def refine(path: str, before: Any, after: Any, live: LiveObject) -> Effect | None:
    """Memory within the VM's static range changes live (the dynamic range); a disk
    grows live on an SR that can."""
    floor = live.attributes.get("memory_static_min")
    if path == "memory" and isinstance(after, int) and isinstance(floor, int):
        ceiling = value_at(live.spec, "options.memory_max")
        if isinstance(ceiling, int) and floor <= after <= ceiling:
            return Effect.IN_PLACE
    if path == "options.memory_min" and isinstance(floor, int):
        return Effect.IN_PLACE if isinstance(after, int) and after >= floor else Effect.RESTART
    if path.startswith("disks[") and path.endswith("].size"):
        index = int(path[len("disks["):path.index("]")])
        online = live.attributes.get("online_resize") or []
        if index < len(online) and not online[index]:
            return Effect.RESTART
    return None


GUEST_SCHEMA = KindSchema(fields=GUEST_FIELDS, attributes=ATTRIBUTES, refine=refine,
                          unordered=frozenset({"options.tags"}),
                          complete=frozenset({"options.platform", "options.xenstore_data"}),
                          # a NIC no longer told its MAC keeps the one it has
                          kept=frozenset({"networks[].mac"}))


def needs_halt(changed: Sequence[str], live: LiveObject, desired: Mapping[str, Any]) -> bool:
    """Whether ``update`` must shut the guest down for ``changed``: a field whose effect
    is not "in place" (a cloud_init change arrives only with ``on_change: reboot``)."""
    return any(effect_of(GUEST_SCHEMA, path, live, desired) is not Effect.IN_PLACE
               for path in changed if path not in ("power", PROTECTION_PATH)
               and not (value_at(desired, path) is None and GUEST_SCHEMA.keeps(path)))
