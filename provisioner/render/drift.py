"""Drift as text for people and JSON for machines (``provisioner drift``)."""

from __future__ import annotations

import json

from provisioner.plan.drift import Drift, DriftKind
from provisioner.plan.model import FieldDiff
from provisioner.render.values import display_pair, display_set_change, plain


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
