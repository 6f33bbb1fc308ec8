"""Field rules of the Proxmox provider: how each field of guests, containers and pools
changes.

A change that is "in place" by its rule becomes "requires restart" where
Proxmox will hold it pending on the running guest: a key already pending, a
device the VM's ``hotplug`` option does not let it plug, a removed mount point
of a running container (``refine``).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from provisioner.core.resources import Effect, LiveObject
from provisioner.providers.base import GROWS, IN_PLACE, REPLACE, RESTART, FieldRule, KindSchema
from provisioner.providers.proxmox.guests import has_pending
from provisioner.providers.proxmox.hotplug import held_until_restart

ATTRIBUTES = ("vmid", "node", "state", "macs", "ip", "ips", "pending")

SETS = frozenset({"options.tags"})  # Proxmox keeps tags as a set: sorted, each once
_OPTIONS_COMMON = {"options.tags": IN_PLACE, "options.description": IN_PLACE,
                     "options.pool": IN_PLACE, "options.restart": IN_PLACE,
                     "options.vmid": REPLACE}
GUEST_FIELDS: Mapping[str, FieldRule] = {
    "cpus": RESTART, "memory": RESTART, "power": IN_PLACE, "autostart": IN_PLACE,
    "image": REPLACE, "clone": REPLACE, "node": REPLACE,
    "disks": IN_PLACE, "disks[].size": GROWS, "disks[].pool": REPLACE,
    "disks[].image": REPLACE, "disks[].volume": REPLACE, "disks[].format": REPLACE,
    "disks[].bus": REPLACE, "disks[].slot": REPLACE,
    "networks": IN_PLACE,
    "cloud_init": REPLACE,
    "options": RESTART, "options.full_clone": REPLACE, **_OPTIONS_COMMON,
}
CONTAINER_FIELDS: Mapping[str, FieldRule] = {
    "template": REPLACE, "node": REPLACE, "cpus": IN_PLACE, "memory": IN_PLACE,
    "swap": IN_PLACE, "rootfs": REPLACE, "rootfs.size": GROWS,
    "mounts": IN_PLACE, "mounts[].size": GROWS, "mounts[].path": RESTART,
    "mounts[].pool": REPLACE, "networks": IN_PLACE, "power": IN_PLACE, "autostart": IN_PLACE,
    "options": RESTART, "options.unprivileged": REPLACE, "options.ssh_keys": REPLACE,
    "options.ipconfig": IN_PLACE, **_OPTIONS_COMMON,
}


_MOUNT_POINT = re.compile(r"^mounts\[\d+\]$")


def _pending_refine(fields: Mapping[str, FieldRule]) -> Any:
    schema = KindSchema(fields=fields)

    def refine(path: str, before: Any, after: Any, live: LiveObject) -> Effect | None:
        """A change Proxmox already holds pending (or cannot make while a pending value
        waits) takes effect only at a restart: "in place" becomes "requires restart".
        So does a change the VM's hotplug option does not let Proxmox plug live, and
        removing a running container's mount point (held until it starts again)."""
        if schema.rule_for(path).effect is not Effect.IN_PLACE or not live.running:
            return None
        plugged = live.attributes.get("hotplug")
        if has_pending(live, path) or (_MOUNT_POINT.match(path) and before is not None
                                       and after is None) or (
                plugged is not None and held_until_restart(path, before, after, plugged)):
            return Effect.RESTART
        return None

    return refine


GUEST_SCHEMA = KindSchema(fields=GUEST_FIELDS, attributes=ATTRIBUTES,
                          refine=_pending_refine(GUEST_FIELDS), unordered=SETS)
CONTAINER_SCHEMA = KindSchema(fields=CONTAINER_FIELDS, attributes=ATTRIBUTES,
                              refine=_pending_refine(CONTAINER_FIELDS), unordered=SETS)
POOL_SCHEMA = KindSchema(
    fields={"type": REPLACE, "path": REPLACE, "options": IN_PLACE},
    attributes=("storage",), unordered=frozenset({"options.content", "options.nodes"}),
)
IMAGE_SCHEMA = KindSchema(
    # guests' disks are copies (import-from): other content is another file
    fields={"checksum": REPLACE, "format": REPLACE, "pool": REPLACE, "options": IN_PLACE},
    attributes=("storage", "volumes", "volid"),
)
