"""The stack's snapshots as JSON for machines (``provisioner snapshot list --format json``).

Format version 1
================

One JSON object; guests in address order, each guest's snapshots oldest first, so
the same snapshots always give byte-identical JSON.

``format_version`` (string)
    ``"1"``. Adding keys does not change the version; removing or changing the
    meaning of one does.
``guests`` (list of objects)
    One per guest listed (every guest of the stack on the hypervisors, or the
    ``--target`` ones), also those without snapshots:

    ``address`` (string)
        Such as ``"guests.web-0"``.
    ``snapshots`` (list of objects, empty when it has none or could not be read)
        ``name`` (string); ``created`` (string or null): when it was taken, ISO 8601
        in UTC (``"2026-12-04T06:50:01Z"``), null if the hypervisor does not say;
        ``size`` (integer or null): bytes it holds on the hypervisor's storage, null
        if the hypervisor does not say; ``memory`` (boolean): whether it holds the
        running state; ``power_after_revert`` (string): ``"running"`` or
        ``"stopped"``, the guest's power state after a revert to it.
    ``error`` (string or null)
        Why the guest's snapshots could not be read (the command then exits 1).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import UTC
from typing import Any

from provisioner.core.snapshots import SnapshotInfo

FORMAT_VERSION = "1"


def snapshot_document(guests: Sequence[tuple[str, Sequence[SnapshotInfo], str | None]],
                      ) -> dict[str, Any]:
    """The document of (address, its snapshots, its error or None) per guest."""
    return {
        "format_version": FORMAT_VERSION,
        "guests": [{"address": address, "snapshots": [_snapshot(info) for info in found],
                    "error": error} for address, found, error in guests],
    }


def render_snapshots_json(guests: Sequence[tuple[str, Sequence[SnapshotInfo], str | None]],
                          ) -> str:
    """The document as indented JSON, ending with a newline."""
    return json.dumps(snapshot_document(guests), indent=2, ensure_ascii=False) + "\n"


def _snapshot(info: SnapshotInfo) -> dict[str, Any]:
    created = info.created.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ") \
        if info.created else None
    return {"name": info.name, "created": created, "size": info.size, "memory": info.memory,
            "power_after_revert": info.power_after_revert}
