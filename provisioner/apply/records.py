"""What the state store keeps of an object once it was made or changed."""

from __future__ import annotations

from provisioner.core.resources import LiveObject, Resource, to_plain
from provisioner.state.store import AppliedRecord, now_iso


def applied_record(resource: Resource, live: LiveObject) -> AppliedRecord:
    """What the store keeps after a successful create or update (no secrets)."""
    return AppliedRecord(
        address=resource.address,
        provider=resource.provider,
        spec=to_plain(resource.spec),
        deps=resource.deps,
        live_id=live.id,
        name=live.name,
        attributes=to_plain(live.attributes),
        prevent_destroy=resource.lifecycle.prevent_destroy,
        applied_at=now_iso(),
    )
