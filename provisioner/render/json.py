"""A plan as JSON for machines (``provisioner plan --json``).

Format version 1
================

The document is one JSON object. Keys appear in the order below; lists keep
the plan's order, so the same plan always gives byte-identical JSON.

``format_version`` (string)
    ``"1"``. Adding keys does not change the version; removing or changing
    the meaning of one does.
``stack`` (string)
    The stack's name.
``environment`` (string, only with ``--env``)
    The environment the plan was made for (``--env prod``: ``"prod"``). Absent
    without one, so a plan without environment is the same document as before.
``destroy`` (boolean)
    True when the plan was made with ``--destroy``.
``summary`` (object)
    ``{"add": int, "change": int, "destroy": int}``, as on the ``Plan:`` line.
    A replacement counts once in ``add`` and once in ``destroy``.
``changes`` (list of objects)
    One per address, in plan order, *including* no-ops:

    ``address`` (string)
        ``kind.name``, such as ``"guests.web-0"``.
    ``kind`` (string)
        ``"pools"``, ``"images"``, ``"networks"``, ``"volumes"``, ``"guests"`` or ``"containers"``.
    ``name`` (string)
        The instance name, such as ``"web-0"``.
    ``provider`` (string)
        The provider that manages it, such as ``"kvm"``.
    ``action`` (string)
        ``"create"``, ``"update"``, ``"replace"``, ``"delete"`` or ``"no-op"``.
    ``reason`` (string)
        Why, in words: ``"image forces replacement"``, ``"no longer in the stack"``.
    ``placement`` (string or null)
        For a guest placed by ``node: auto`` or a placement group: where it
        goes and why, such as ``"placed on pve3 (spread: 28.0GiB of memory
        left there)"`` or ``"stays on pve3 (placed there before)"``.
    ``replace_order`` (string or null)
        ``"delete_first"`` or ``"create_first"`` for a replacement, else null.
    ``requires_restart`` (boolean)
        True for an update with a field whose effect is ``"requires restart"``:
        apply restarts the guest for it, unless the provider may leave the
        change pending (Proxmox: ``options.restart: never``, or a change
        Proxmox made live).
    ``fields`` (list of objects)
        The fields that differ, each ``{"path", "before", "after", "effect",
        "added", "removed"}``: ``path`` like ``"disks[1].size"``; ``before`` and
        ``after`` are values (null for an added or removed item); ``effect`` is
        ``"in place"``, ``"requires restart"`` or ``"forces replacement"``. A
        field that is a set (a provider's tags) is one entry for the whole list,
        whatever the order on either side, with ``added`` and ``removed`` the
        lists of its items that the change adds and removes; for any other
        field both are null.
    ``before`` (object or null)
        What the provider read from the hypervisor, or null if nothing runs.
    ``after`` (object or null)
        The declared spec, or null if the resource is not declared.
``steps`` (list of objects)
    The provider calls in execution order, each ``{"operation", "address"}``
    with ``operation`` one of ``"create"``, ``"update"``, ``"delete"``.
    A replacement has two steps, in its replace order.
``forget`` (list of strings)
    Addresses dropped from the state on apply: gone from the hypervisor and
    no longer declared (or moved: see ``moved``).
``warnings`` (list of strings)
    Things to know that do not stop the plan.
``snapshots`` (list of objects)
    The guests of the plan with snapshots recorded in the state (taken with
    ``provisioner snapshot create``), by address, each ``{"address", "count",
    "size", "deleted_with_guest", "note"}``: ``size`` is the bytes they held when
    taken (null when a provider did not say for one of them); ``deleted_with_guest``
    is true when the plan deletes or replaces the guest (its snapshots go with it);
    ``note`` is the sentence the text plan prints.
``moved`` (list of objects)
    Objects a ``moved:`` block gives a new address, each ``{"from", "to"}``:
    the same object, recorded under ``to`` on apply (its changes, if any, are
    under ``changes`` at ``to``).

Values
------

Sizes are integers in bytes. File and inline content (cloud-init user-data)
is never included: it appears as ``{"label": "web.cloud.yaml", "digest":
"hmac-sha256:..."}`` (keyed under the state's key, so it confirms no guess; a
plan made without a state, or a record from an older version, has
``"sha256:..."``). Secrets appear as the string ``"(sensitive)"``.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from provisioner.plan.model import Change, FieldDiff, Plan, Step
from provisioner.render.values import plain

FORMAT_VERSION = "1"


def render_plan_json(plan: Plan) -> str:
    """The plan document as indented JSON, ending with a newline."""
    return json.dumps(plan_document(plan), indent=2, sort_keys=False, ensure_ascii=False) + "\n"


def plan_document(plan: Plan) -> dict[str, Any]:
    """The plan as plain data in the documented format (see the module docstring)."""
    summary = plan.summary
    return {
        "format_version": FORMAT_VERSION,
        "stack": plan.stack,
        **({"environment": plan.environment} if plan.environment is not None else {}),
        "destroy": plan.destroy,
        "summary": {"add": summary.add, "change": summary.change, "destroy": summary.destroy},
        "changes": [_change(change) for change in plan.changes],
        "steps": [_step(step) for step in plan.steps],
        "forget": [str(address) for address in plan.forget],
        "warnings": list(plan.warnings),
        "snapshots": [{"address": str(note.address), "count": note.count, "size": note.size,
                       "deleted_with_guest": note.deleted is not None, "note": note.text}
                      for note in plan.snapshots],
        "moved": [{"from": str(old), "to": str(new)} for old, new in plan.moved],
    }


def _change(change: Change) -> dict[str, Any]:
    order = change.replace_order
    return {
        "address": str(change.address),
        "kind": change.address.kind.value,
        "name": change.address.name,
        "provider": change.provider,
        "action": change.action.value,
        "reason": change.reason,
        "placement": (change.desired.placement or None) if change.desired is not None else None,
        "replace_order": order.name.lower() if order is not None else None,
        "requires_restart": change.requires_restart,
        "fields": [_field(diff) for diff in change.fields],
        "before": _spec(change.live.spec if change.live is not None else None),
        "after": _spec(change.desired.spec if change.desired is not None else None),
    }


def _field(diff: FieldDiff) -> dict[str, Any]:
    return {
        "path": diff.path,
        "before": plain(diff.before),
        "after": plain(diff.after),
        "effect": diff.effect.value,
        "added": [plain(item) for item in diff.added] if diff.unordered else None,
        "removed": [plain(item) for item in diff.removed] if diff.unordered else None,
    }


def _step(step: Step) -> dict[str, str]:
    return {"operation": step.operation.value, "address": str(step.address)}


def _spec(spec: Mapping[str, Any] | None) -> Any:
    return None if spec is None else plain(spec)
