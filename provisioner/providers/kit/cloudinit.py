"""cloud-init's instance id: what tells cloud-init in a guest that its data is new.

cloud-init runs its per-instance modules again when the ``instance-id`` of its
meta-data changes. Every provider that hands a guest cloud-init data (a NoCloud
seed, VMware guestinfo) gives it the same default id, computed from the three
documents' digests: same documents, same id; new user-data, new id (and so a
new run at the next boot). Pure.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from typing import Any

from provisioner.core.resources import Blob

FIELDS = ("user_data", "meta_data", "network_config")
"""The documents of a ``cloud_init`` spec, in the order the id digests them."""


def instance_id(name: str, blobs: Mapping[str, Blob | None]) -> str:
    """``NAME-<12 hex>`` from the three digests: same inputs, same id; new user-data, new id."""
    digests = "\n".join(blob.content_digest if (blob := blobs.get(key)) is not None else ""
                        for key in FIELDS)
    return f"{name}-{hashlib.sha256(digests.encode()).hexdigest()[:12]}"


def seed_memo(cloud_init: Mapping[str, Any] | None) -> dict[str, Any]:
    """What a marker remembers of a seed whose documents the hypervisor cannot give back
    (only the ISO's path): each document's label and digest, never its content."""
    if not cloud_init:
        return {}
    return {key: {"label": blob.label, "digest": blob.digest}
            for key in FIELDS if isinstance(blob := cloud_init.get(key), Blob)}


def blobs_of_memo(written: Any) -> dict[str, Blob | None]:
    """The ``cloud_init`` spec a live object reads back from ``seed_memo``'s record."""
    found: dict[str, Blob | None] = {}
    for key in FIELDS:
        value = written.get(key) if isinstance(written, Mapping) else None
        if isinstance(value, Mapping) and value.get("digest"):  # as JSON, or decoded
            value = Blob(str(value.get("label", key)), str(value["digest"]), b"")
        found[key] = Blob(value.label, value.digest, b"") if isinstance(value, Blob) else None
    return found
