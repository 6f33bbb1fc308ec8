"""Ownership on Proxmox objects: a tag naming the stack, a marker in the description.

Guests and containers carry the tag ``provisioner.STACK`` (so the bulk read,
``/cluster/resources``, finds them without reading any config) and, at the
end of their description, the marker (``kit/marker.py``: the provider block, the
address and the applied spec as JSON, under ``spec``), for what Proxmox cannot
report: the template a
guest was cloned from, the node it was placed on with ``node: auto``, the
order of disks by slot). The marker is an HTML comment, so the Proxmox UI,
which renders notes as Markdown, does not show it.

Storages (``pools:``) have neither tags nor notes: their id is the tag,
``STACK_NAME`` (stack and resource names cannot contain ``_``).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from provisioner.core.address import Address
from provisioner.providers.kit import ownership as kit
from provisioner.providers.kit.marker import Marker, MarkerCodec
from provisioner.providers.proxmox.props import split_tags

TAG_PREFIX = "provisioner."
_MARKER_RE = re.compile(r"\n*<!-- provisioner:v1 (\{.*?\}) -->\s*$", re.DOTALL)
CODEC = MarkerCodec("spec", escaped=">", strict=False)
"""``>`` is escaped so that notes quoted in the applied spec can never close the comment."""


@dataclass(frozen=True)
class Ownership(kit.Ownership):
    """One provider block of one stack: writes its tags and markers, recognises its objects."""

    @property
    def tag(self) -> str:
        return TAG_PREFIX + self.stack

    def tags(self, user_tags: list[str]) -> str:
        """The ``tags`` value: the user's tags and ours."""
        return ";".join(sorted({*user_tags, self.tag}))

    def description(self, notes: str, address: Address, applied: Mapping[str, Any],
                    protected: bool = False) -> str:
        """The user's notes followed by the marker (``protected``: the stack's
        prevent_destroy, kept in it: plan/protection.py)."""
        marker = self.marker(address, applied, protected)
        marker_text = f"<!-- provisioner:v1 {CODEC.encode(marker)} -->"
        return f"{notes.rstrip()}\n\n{marker_text}" if notes.strip() else marker_text

    def storage_id(self, object_name: str) -> str:
        """The storage id of one of this stack's pools."""
        return f"{self.stack}_{object_name}"

    def pool_name(self, storage_id: str) -> str | None:
        """The object name of one of this stack's storages, else None."""
        prefix = f"{self.stack}_"
        return storage_id[len(prefix):] if storage_id.startswith(prefix) else None


def stack_of(tags: Any) -> str | None:
    """The stack a guest's tags name, or None for a guest no stack owns."""
    for tag in split_tags(tags):
        if tag.startswith(TAG_PREFIX) and len(tag) > len(TAG_PREFIX):
            return tag[len(TAG_PREFIX):]
    return None


def user_tags(tags: Any) -> list[str]:
    """The tags that are not ownership tags."""
    return sorted({tag for tag in split_tags(tags) if not tag.startswith(TAG_PREFIX)})


def parse_marker(description: Any) -> Marker | None:
    """The marker at the end of a description, or None."""
    match = _MARKER_RE.search(str(description or ""))
    return None if match is None else CODEC.decode(match.group(1))


def notes_of(description: Any) -> str:
    """The user's part of a description (everything before the marker)."""
    return _MARKER_RE.sub("", str(description or "")).rstrip()
