"""The validated resource entries of a stack, before they become Resources.

``entries`` holds each declaration by name, and each instance of a ``for_each``
declaration by its instance name (repetition.py); ``count`` is expanded later,
by the resolver.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field

from provisioner.core.address import Address, Kind, image_instance
from provisioner.stack.model import Image, ResourceBase
from provisioner.stack.repetition import declared_as
from provisioner.stack.source import PathKey


@dataclass
class Declarations:
    """Validated entries of each resource section, in declaration order."""

    entries: dict[Kind, dict[str, ResourceBase]] = field(default_factory=dict)
    invalid: set[Address] = field(default_factory=set)
    """Declared but not valid (already reported): referring to them is no new problem."""
    instances: dict[Address, dict[str, str]] = field(default_factory=dict)
    """Declarations with ``for_each`` → their keys → instance names; ``entries`` holds
    the instances (repetition.py)."""
    disabled: dict[Address, PathKey] = field(default_factory=dict)
    """Declarations with ``enabled: false`` (and their instances) → the path of that
    key: not in ``entries``; a ``depends_on`` on one is dropped, a reference refused."""

    def declared_as(self) -> dict[Address, tuple[Address, str]]:
        """Each instance of a for_each declaration → the declaration and its key."""
        return declared_as(self.instances)

    def groups(self) -> Iterator[tuple[Kind, str, ResourceBase]]:
        for kind in Kind:
            for name, entry in self.entries.get(kind, {}).items():
                yield kind, name, entry

    def is_invalid(self, address: Address) -> bool:
        """``address`` names an invalid declaration or, perhaps, one of its instances."""
        base, _, index = address.name.rpartition("-")
        return address in self.invalid or (
            index.isdigit() and Address(address.kind, base) in self.invalid)

    def instance_names(self, kind: Kind, name: str) -> list[str]:
        entry = self.entries.get(kind, {}).get(name)
        if isinstance(entry, Image):
            return [image_instance(name, provider) for provider in entry.providers or []]
        count = getattr(entry, "count", None)
        return [name] if count is None else [f"{name}-{index}" for index in range(count)]
