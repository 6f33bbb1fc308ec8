"""The ownership marker: which stack, provider block and address an object belongs to,
with a memo of what the hypervisor cannot report back.

Every provider writes this one value on the objects it makes; only the carrier
differs (each provider's ``ownership.py``: a libvirt metadata element, a Proxmox
description comment, a vSphere custom attribute or annotation line). Text
carriers hold it as one compact JSON document with sorted keys (``MarkerCodec``),
so the same marker is always the same text.

What a carrier wrote must stay readable forever: never rename a key of a codec
in use (Proxmox keeps the memo under ``spec``, vSphere under ``memo``; libvirt
keeps stack, block and address as XML attributes and the memo alone as JSON,
``dump_memo``). tests/unit/test_kit_markers.py decodes markers as each carrier
has written them.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from provisioner.core.address import Address
from provisioner.core.resources import loads_plain, to_plain

PROTECTED_KEY = "prevent_destroy"


@dataclass(frozen=True)
class Marker:
    """What an object's marker says."""

    stack: str
    provider: str | None
    """The provider block that made it. None in libvirt tags written before tags named
    the block: any block of the stack then owns the object."""
    address: Address
    memo: Mapping[str, Any] = field(default_factory=dict)
    """What the hypervisor cannot report back: the spec as applied (libvirt, Proxmox),
    or the template, cloud-init digests and disk provisioning (vSphere)."""
    protected: bool = False
    """The stack's prevent_destroy, for carriers that keep it (``prevent_destroy: true``
    in text markers, written only when set: older markers read as unprotected)."""


def dump_memo(memo: Mapping[str, Any]) -> str:
    """A memo as compact JSON, keys sorted; blobs as their label and digest."""
    return json.dumps(to_plain(memo), sort_keys=True, separators=(",", ":"))


def load_memo(text: str | None) -> dict[str, Any]:
    """A memo from its JSON; empty for text that is not a JSON object."""
    try:
        memo = loads_plain(text or "{}")
    except ValueError:
        return {}
    return memo if isinstance(memo, dict) else {}


@dataclass(frozen=True)
class MarkerCodec:
    """A whole marker as one JSON document, for carriers that hold text."""

    memo_key: str
    """The memo's key in the document (``spec`` or ``memo``)."""
    escaped: str = ""
    """Characters written as ``\\uXXXX``, so that text quoted in the memo (a guest's
    notes) can never close the carrier (an HTML comment) or be taken for markup."""
    strict: bool = True
    """Whether a document without ``stack`` or ``provider`` is no marker (else they
    read as "", which no provider block is named)."""

    def encode(self, marker: Marker) -> str:
        document = {"stack": marker.stack, "provider": marker.provider,
                    "address": str(marker.address), self.memo_key: to_plain(marker.memo)}
        if marker.protected:
            document[PROTECTED_KEY] = True
        text = json.dumps(document, sort_keys=True, separators=(",", ":"))
        for char in self.escaped:
            text = text.replace(char, f"\\u{ord(char):04x}")
        return text

    def decode(self, text: Any) -> Marker | None:
        """The marker ``text`` holds; None when it is not one."""
        try:
            document = loads_plain(str(text or ""))
            address = Address.parse(str(document["address"]))
            if self.strict:
                stack, provider = str(document["stack"]), str(document["provider"])
            else:
                stack = str(document.get("stack", ""))
                provider = str(document.get("provider", ""))
        except (ValueError, KeyError, TypeError):
            return None
        memo = document.get(self.memo_key)
        return Marker(stack, provider, address, memo if isinstance(memo, dict) else {},
                      protected=document.get(PROTECTED_KEY) is True)
