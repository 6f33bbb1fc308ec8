"""How each guest field changes on vSphere, for the planner and for ``update`` alike.

vCPUs and memory need the VM powered off unless its hot-add flags allow the
change (more vCPUs with ``cpu_hot_add``, fewer with ``cpu_hot_remove``, more
memory with ``memory_hot_add``): ``refine`` reads the flags of the live VM,
so the plan says ``requires restart`` exactly when ``update`` will power the
guest off. The simulator accepts any reconfigure of a running VM; vCenter
does not, so the provider decides from the flags itself and never relies on
the server to refuse.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from provisioner.core.resources import PROTECTION_PATH, Effect, LiveObject
from provisioner.providers.base import (
    GROWS,
    IN_PLACE,
    REPLACE,
    RESTART,
    FieldRule,
    KindSchema,
)
from provisioner.providers.kit.changes import effect_of, value_at
from provisioner.providers.vsphere.read import ATTRIBUTES

GUEST_FIELDS: Mapping[str, FieldRule] = {
    "cpus": RESTART, "memory": RESTART, "power": IN_PLACE, "autostart": IN_PLACE,
    "image": REPLACE, "clone": REPLACE, "node": IN_PLACE,
    "disks": IN_PLACE, "disks[].size": GROWS, "disks[].pool": REPLACE,
    "disks[].image": REPLACE, "disks[].volume": REPLACE, "disks[].format": REPLACE,
    "disks[].bus": REPLACE, "disks[].slot": REPLACE,
    "networks": IN_PLACE, "networks[].host_network": IN_PLACE, "networks[].mac": RESTART,
    "networks[].model": RESTART, "networks[].network": REPLACE, "networks[].bridge": REPLACE,
    "networks[].ip": REPLACE, "networks[].vlan": REPLACE, "networks[].firewall": REPLACE,
    "cloud_init": REPLACE,
    "options": RESTART, "options.notes": IN_PLACE, "options.folder": IN_PLACE,
    "options.resource_pool": IN_PLACE, "options.cluster": IN_PLACE,
    "options.datastore": REPLACE, "options.firmware": REPLACE,
    "options.scsi_controller": REPLACE, "options.disk_provisioning": REPLACE,
}


def hot_change(path: str, before: Any, after: Any, attributes: Mapping[str, Any]) -> bool:
    """Whether ``path`` can change from ``before`` to ``after`` on the running VM."""
    if not isinstance(before, int) or not isinstance(after, int):
        return False
    if path == "cpus":
        return bool((after > before and attributes.get("cpu_hot_add"))
                    or (after < before and attributes.get("cpu_hot_remove")))
    if path == "memory":
        return bool(after > before and attributes.get("memory_hot_add"))
    return False


def refine(path: str, before: Any, after: Any, live: LiveObject) -> Effect | None:
    """vCPUs and memory change in place when the hot-add flags allow it."""
    if path in ("cpus", "memory") and hot_change(path, before, after, live.attributes):
        return Effect.IN_PLACE
    return None


IMAGE_SCHEMA = KindSchema(
    # a file (or a template) guests' disks are copied from: other content is another image
    fields={"checksum": REPLACE, "format": REPLACE, "pool": REPLACE, "options": IN_PLACE},
    attributes=("file", "datastore", "size", "format", "template"),
)

GUEST_SCHEMA = KindSchema(fields=GUEST_FIELDS, attributes=ATTRIBUTES, refine=refine,
                          # a NIC no longer told its MAC or model keeps the one it has
                          kept=frozenset({"networks[].mac", "networks[].model"}))


def needs_power_off(changed: Sequence[str], live: LiveObject,
                    desired: Mapping[str, Any]) -> bool:
    """Whether ``update`` must power the guest off for ``changed``: a field whose effect
    is not "in place" (a cloud_init change arrives only with ``on_change: reboot``)."""
    return any(effect_of(GUEST_SCHEMA, path, live, desired) is not Effect.IN_PLACE
               for path in changed
               if path not in ("power", PROTECTION_PATH) and not _kept(path, desired))


def _kept(path: str, desired: Mapping[str, Any]) -> bool:
    """A value no longer declared that the VM keeps: nothing is written."""
    return value_at(desired, path) is None and GUEST_SCHEMA.keeps(path)
