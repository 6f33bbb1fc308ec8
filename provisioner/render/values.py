"""How one value looks in a plan: sizes with units, blobs by digest, secrets hidden.

Shared by the text, JSON and graph renderers. Must never print a blob's
content or a secret's value: cloud-init user-data and passwords go through
here, and plans are pasted into tickets and CI logs.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

from pydantic import Secret, SecretBytes, SecretStr

from provisioner.core.resources import Blob, to_plain
from provisioner.units import Bytes

SENSITIVE = "(sensitive)"
SIZE_KEYS = frozenset({"size", "memory", "swap", "max_memory", "balloon"})
"""Fields whose numbers are bytes in every kind's spec: shown with units even when the
other side of a diff gives no ``Bytes`` to follow (a disk removed, an option dropped)."""

_SECRETS = (Secret, SecretStr, SecretBytes)


def display(value: Any) -> str:
    """One value as plan text: ``2GiB``, ``"lab"``, ``{size: 10GiB}``, ``(sensitive)``."""
    if isinstance(value, _SECRETS):
        return SENSITIVE
    if isinstance(value, Blob):
        return short_blob(value)
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, Bytes):
        return repr(value)
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, Mapping):
        items = (f"{key}: {display(_sized_by_key(key, item))}" for key, item in value.items()
                 if item is not None)
        return "{" + ", ".join(items) + "}"
    if isinstance(value, list | tuple):
        return "[" + ", ".join(display(item) for item in value) + "]"
    return str(value)


def display_pair(before: Any, after: Any, path: str = "") -> tuple[str, str]:
    """Both sides of a diff at ``path``; a plain int facing a ``Bytes``, or under a size
    field (``options.max_memory``), is shown as a size too.

    Providers report sizes as plain ints while the stack declares ``Bytes``:
    ``2147483648 -> 4GiB`` would hide that the change is 2GiB -> 4GiB.
    """
    key = path.rsplit(".", 1)[-1]
    before, after = _sized_by_key(key, before), _sized_by_key(key, after)
    return display(_sized_like(before, after)), display(_sized_like(after, before))


def _sized_by_key(key: str, value: Any) -> Any:
    return Bytes(value) if key in SIZE_KEYS and _plain_int(value) else value


def display_set_change(added: Sequence[Any], removed: Sequence[Any]) -> str:
    """What a set gains and loses: ``+ "new", - "old"`` (a set has no positions)."""
    return ", ".join([*(f"+ {display(item)}" for item in added),
                      *(f"- {display(item)}" for item in removed)])


def short_blob(blob: Blob) -> str:
    """``web.cloud.yaml (sha256:1a2b3c4d)``: the label and 8 hex digits of the digest
    (of a keyed digest, ``hmac-sha256:KEYID:HEX``, 8 of HEX)."""
    algorithm, colon, digest = blob.digest.partition(":")
    if not colon:
        return f"{blob.label} ({algorithm[:8]})"
    return f"{blob.label} ({algorithm}:{digest.rpartition(':')[2][:8]})"


def plain(value: Any) -> Any:
    """JSON-ready copy (``to_plain``) with every secret replaced by ``(sensitive)``."""
    return to_plain(_redacted(value))


def _redacted(value: Any) -> Any:
    if isinstance(value, _SECRETS):
        return SENSITIVE
    if isinstance(value, Mapping):
        return {key: _redacted(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_redacted(item) for item in value]
    return value


def _sized_like(value: Any, other: Any) -> Any:
    """``value`` with plain ints turned into ``Bytes`` where ``other`` has a ``Bytes``."""
    if isinstance(other, Bytes) and _plain_int(value):
        return Bytes(value)
    if isinstance(value, Mapping) and isinstance(other, Mapping):
        return {key: _sized_like(item, other.get(key)) for key, item in value.items()}
    if isinstance(value, list) and isinstance(other, list):
        return [
            _sized_like(item, other[index] if index < len(other) else None)
            for index, item in enumerate(value)
        ]
    return value


def _plain_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool | Bytes)
