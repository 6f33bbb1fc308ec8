"""Whose an object is: this provider block's, another block's of this stack, another
stack's, or nobody's ("untagged"); and the error of a create that finds its name
taken by an object it must not take over.

One ``Ownership`` per provider block decides from a marker (``marker.py``),
whatever carries it; each provider's ``ownership.py`` subclasses it with the
carrier (how the marker is written on and read from its objects).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from provisioner.core.address import Address
from provisioner.errors import ProviderError
from provisioner.providers.kit.marker import Marker

UNTAGGED = "untagged"


def stack_owner(stack: str | None) -> str:
    """How an owner that is not this stack is named: ``untagged`` or ``stack NAME``."""
    return UNTAGGED if stack is None else f"stack {stack}"


@dataclass(frozen=True)
class Ownership:
    """One provider block of one stack: the markers it writes, the objects it owns."""

    stack: str
    provider: str

    def marker(self, address: Address, memo: Mapping[str, Any] | None = None,
               protected: bool = False) -> Marker:
        return Marker(self.stack, self.provider, address, memo or {}, protected)

    def owns(self, marker: Marker | None) -> bool:
        """Whether this block manages the object. Another block of the same stack on
        the same hypervisor manages its own objects (which are not foreign either)."""
        return marker is not None and marker.stack == self.stack and \
            marker.provider in (None, self.provider)

    def owns_at(self, marker: Marker | None, address: Address) -> bool:
        """Whether the object is this block's ``address``: what a retried create may
        finish and a delete may remove."""
        return self.owns(marker) and marker is not None and marker.address == address

    def earlier_create(self, marker: Marker | None, creating: Marker | None,
                       address: Address) -> bool | None:
        """What a create of ``address`` makes of an object of this stack found at its name,
        by its owner ``marker`` and its creating ``marker``: True, an earlier attempt that
        finished (return it); False, one cut short (its creating mark, or no mark at all:
        remove it and create again); None, another object's (refuse: ``name_taken``)."""
        if self.owns_at(marker, address) and creating is None:
            return True
        if self.owns_at(creating, address) or (marker is None and creating is None):
            return False
        return None

    def stranger(self, marker: Marker | None) -> str | None:
        """Who owns an object that is not this stack's, for ``Inventory.foreign`` and
        collision errors; None for this stack's (any block's)."""
        if marker is not None and marker.stack == self.stack:
            return None
        return stack_owner(None if marker is None else marker.stack)

    def whose(self, marker: Marker | None) -> str:
        """Who holds an object in the way of one of ours: ``untagged``, ``stack NAME``
        or ``ADDRESS of this stack``."""
        return self.stranger(marker) or f"{marker.address if marker else '?'} of this stack"


def name_taken(what: str, noun: str, name: str, whose: str, *, where: str = "",
               hint: str = "") -> ProviderError:
    """The error of a create that finds ``name`` held by an object it must not take
    over: ``WHAT: a NOUN named 'NAME' already exists[WHERE] (WHOSE)``."""
    return ProviderError(f"{what}: a {noun} named '{name}' already exists{where} ({whose})",
                         hint=hint or f"rename the {noun} in the stack, or remove or rename "
                                      "that one")
