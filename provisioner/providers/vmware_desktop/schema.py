"""How each guest field changes on VMware Workstation / Player / Fusion.

Every setting lives in the .vmx, which VMware reads at power-on and writes back
from its own copy at power-off: an edit made while the VM runs is lost. So every
change but power needs the VM off (RESTART on a running guest), and is simply
written while it is off (``refine`` makes it IN_PLACE then): vCPUs, memory, disks
added, removed or grown, NICs, options. A new image, clone, cloud-init data or
disk bus is a new VM (REPLACE), as on vSphere, whose guestinfo keys these are.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from provisioner.core.resources import PROTECTION_PATH, Effect, LiveObject
from provisioner.providers.base import GROWS, IN_PLACE, REPLACE, RESTART, FieldRule, KindSchema
from provisioner.providers.kit.changes import effect_of, value_at

ATTRIBUTES = ("vmx", "state", "macs")

GUEST_FIELDS: Mapping[str, FieldRule] = {
    "cpus": RESTART, "memory": RESTART, "power": IN_PLACE,
    "image": REPLACE, "clone": REPLACE, "node": REPLACE, "autostart": REPLACE,
    "disks": RESTART, "disks[].size": GROWS, "disks[].pool": REPLACE,
    "disks[].image": REPLACE, "disks[].volume": REPLACE, "disks[].format": REPLACE,
    "disks[].bus": REPLACE, "disks[].slot": REPLACE,
    "networks": RESTART, "networks[].host_network": RESTART, "networks[].mac": RESTART,
    "networks[].model": RESTART, "networks[].network": REPLACE, "networks[].ip": REPLACE,
    "networks[].vlan": REPLACE, "networks[].firewall": REPLACE,
    "networks[].bridge": REPLACE, "networks[].forwards": REPLACE,
    "cloud_init": REPLACE,
    "options": RESTART, "options.disk_bus": REPLACE,
}


def refine(path: str, before: Any, after: Any, live: LiveObject) -> Effect | None:
    """A .vmx edit restarts a running guest and is in place on a stopped one."""
    rule = GUEST_SCHEMA.rule_for(path)
    if rule.effect is Effect.REPLACE or path == "power":
        return None
    return Effect.RESTART if live.running else Effect.IN_PLACE


GUEST_SCHEMA = KindSchema(fields=GUEST_FIELDS, attributes=ATTRIBUTES, refine=refine,
                          kept=frozenset({"networks[].mac"}))


def needs_halt(changed: Sequence[str], live: LiveObject, desired: Mapping[str, Any]) -> bool:
    """Whether ``update`` must power the guest off for ``changed``: any .vmx edit."""
    return any(effect_of(GUEST_SCHEMA, path, live, desired) is not Effect.IN_PLACE
               for path in changed if path not in ("power", PROTECTION_PATH)
               and not (value_at(desired, path) is None and GUEST_SCHEMA.keeps(path)))
