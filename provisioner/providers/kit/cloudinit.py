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

from provisioner.core.resources import Blob

FIELDS = ("user_data", "meta_data", "network_config")
"""The documents of a ``cloud_init`` spec, in the order the id digests them."""


def instance_id(name: str, blobs: Mapping[str, Blob | None]) -> str:
    """``NAME-<12 hex>`` from the three digests: same inputs, same id; new user-data, new id."""
    digests = "\n".join(blob.content_digest if (blob := blobs.get(key)) is not None else ""
                        for key in FIELDS)
    return f"{name}-{hashlib.sha256(digests.encode()).hexdigest()[:12]}"
