"""Drift: what changed on the hypervisors behind the tool's back.

Compares each object with what the last apply recorded for it (not with the
stack: a stack edit is not drift). An object can have changed (field by
field), been deleted, or exist with this stack's tag and no record (made by
a run whose state was lost, or by hand). Pure, like the planner.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum

from provisioner.core.address import Address
from provisioner.core.resources import Resource, from_plain
from provisioner.plan.diff import diff_resource
from provisioner.plan.model import FieldDiff
from provisioner.providers.base import Inventory, ProviderSchema
from provisioner.state.store import AppliedRecord


class DriftKind(StrEnum):
    CHANGED = "changed"
    DELETED = "deleted"
    UNRECORDED = "unrecorded"


@dataclass(frozen=True)
class Drift:
    address: Address
    provider: str
    kind: DriftKind
    fields: tuple[FieldDiff, ...] = ()


def find_drift(prior: Mapping[Address, AppliedRecord], inventories: Mapping[str, Inventory],
               schemas: Mapping[str, ProviderSchema]) -> list[Drift]:
    """Every drifted object, in address order."""
    live = {(obj.provider, obj.address): obj
            for inventory in inventories.values() for obj in inventory.managed}
    found: list[Drift] = []
    for address, record in sorted(prior.items()):
        if record.provider not in schemas:
            continue
        obj = live.pop((record.provider, address), None)
        if obj is None:
            found.append(Drift(address, record.provider, DriftKind.DELETED))
            continue
        applied = Resource(address, record.provider, from_plain(record.spec))
        diffs = diff_resource(applied, obj, None, schemas[record.provider].kinds[address.kind])
        if diffs.fields:
            found.append(Drift(address, record.provider, DriftKind.CHANGED,
                               tuple(diffs.fields)))
    found += [Drift(address, provider, DriftKind.UNRECORDED)
              for provider, address in sorted(live, key=lambda key: (key[1], key[0]))]
    return found
