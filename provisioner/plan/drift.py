"""Drift: what changed on the hypervisors behind the tool's back.

Compares each object with what the last apply recorded for it (not with the
stack: a stack edit is not drift). An object can have changed (field by
field), been deleted, or exist with this stack's tag and no record (made by
a run whose state was lost, or by hand). Pure, like the planner.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum

from provisioner.plan.diff import diff_resource
from provisioner.plan.model import FieldDiff
from provisioner.providers.base import Inventory, ProviderSchema
from provisioner.render.values import display_pair, display_set_change, plain
from provisioner.resources import Resource, from_plain
from provisioner.stack.address import Address
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


def render_drift_text(drifts: list[Drift]) -> str:
    if not drifts:
        return "No drift: the hypervisors hold what the last apply made.\n"
    lines = ["Changed outside provisioner:", ""]
    for drift in drifts:
        if drift.kind is DriftKind.DELETED:
            lines.append(f"  - {drift.address} was deleted")
        elif drift.kind is DriftKind.UNRECORDED:
            lines.append(f"  ? {drift.address} exists but no apply recorded it")
        else:
            lines.append(f"  ~ {drift.address} changed")
            lines += [f"      {_drift_line(diff)}" for diff in drift.fields]
    lines += ["", f"Drift: {len(drifts)} object(s). `provisioner apply` restores what the "
                  "stack declares."]
    return "\n".join(lines) + "\n"


def _drift_line(diff: FieldDiff) -> str:
    """From what was applied (``after``) to what is there now (``before``)."""
    if diff.unordered:
        return f"{diff.path}: {display_set_change(diff.removed, diff.added)}"
    applied, now = display_pair(diff.after, diff.before, diff.path)
    return f"{diff.path}: {applied} -> {now}"


def render_drift_json(drifts: list[Drift]) -> str:
    document = {
        "format_version": "1",
        "drift": [
            {"address": str(d.address), "provider": d.provider, "kind": d.kind.value,
             "fields": [{"path": f.path, "applied": plain(f.after), "now": plain(f.before)}
                        for f in d.fields]}
            for d in drifts
        ],
    }
    return json.dumps(document, indent=2) + "\n"
