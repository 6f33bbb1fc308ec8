"""Addresses name one resource of a stack: ``guests.web-0``, ``networks.lab``.

The kind is the stack file's section name; the name is the instance name
(``web-0`` for the first of ``web`` with ``count``). Ordering of kinds is the
order in which independent resources of different kinds are listed.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum

NAME_PATTERN = r"^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$"
NAME_RE = re.compile(NAME_PATTERN)
NAME_HELP = "names use lowercase letters, digits and '-', start and end with a letter or digit"


class Kind(StrEnum):
    """A kind of resource, named after its section in the stack file."""

    POOL = "pools"
    NETWORK = "networks"
    VOLUME = "volumes"
    GUEST = "guests"
    CONTAINER = "containers"

    @property
    def singular(self) -> str:
        return self.value[:-1]

    @property
    def rank(self) -> int:
        return list(Kind).index(self)

    @classmethod
    def parse(cls, text: str) -> Kind | None:
        try:
            return cls(text)
        except ValueError:
            return None


@dataclass(frozen=True)
class Address:
    """``kind.name``: the identity of a resource across stack, plan, state and hypervisor."""

    kind: Kind
    name: str

    def __str__(self) -> str:
        return f"{self.kind.value}.{self.name}"

    def __lt__(self, other: Address) -> bool:
        return (self.kind.rank, self.name) < (other.kind.rank, other.name)

    @classmethod
    def parse(cls, text: str) -> Address:
        """Parse ``guests.web-0``; raises ValueError naming the valid kinds."""
        kind_text, dot, name = text.partition(".")
        kind = Kind.parse(kind_text)
        if not dot or kind is None or not NAME_RE.match(name):
            kinds = ", ".join(k.value for k in Kind)
            raise ValueError(f"'{text}' is not an address like guests.web-0 (kinds: {kinds})")
        return cls(kind, name)
