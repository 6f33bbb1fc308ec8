"""Addresses name one resource of a stack: ``guests.web-0``, ``networks.lab``.

The kind is the stack file's section name; the name is the instance name
(``web-0`` for the first of ``web`` with ``count``). Ordering of kinds is the
order in which independent resources of different kinds are listed.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from enum import StrEnum

NAME_PATTERN = r"^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$"
NAME_RE = re.compile(NAME_PATTERN)
_LABEL = r"[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?"
INSTANCE_RE = re.compile(rf"^{_LABEL}(@{_LABEL})?$")
"""An instance name: a NAME, or an image's ``NAME@PROVIDER`` (one instance per provider
block the image is imported into)."""
NAME_HELP = "names use lowercase letters, digits and '-', start and end with a letter or digit"


class Kind(StrEnum):
    """A kind of resource, named after its section in the stack file."""

    POOL = "pools"
    IMAGE = "images"
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
    """The identity of a resource across stack, plan, state and hypervisor:
    ``guests.web-0``, or ``module.k8s.guests.worker-0`` inside a module instance."""

    kind: Kind
    name: str
    """The instance name (``web-0`` for the first of ``web`` with ``count``)."""
    module: tuple[str, ...] = ()
    """The module instances it lives in, outermost first (empty: the stack itself)."""
    index: int | str | None = field(default=None, compare=False)
    """Which instance of a counted (``0``) or ``for_each`` (``"a"``) declaration it is,
    when known; ``name`` already carries it, so it takes no part in identity."""

    def __str__(self) -> str:
        if not self.module:
            return f"{self.kind.value}.{self.name}"
        prefix = "".join(f"module.{step}." for step in self.module)
        return f"{prefix}{self.kind.value}.{self.name}"

    def __lt__(self, other: Address) -> bool:
        return (self.module, self.kind.rank, self.name) < (other.module, other.kind.rank,
                                                           other.name)

    @classmethod
    def parse(cls, text: str) -> Address:
        """Parse ``guests.web-0`` or ``module.k8s.guests.worker-0``; raises ValueError
        naming the valid kinds."""
        rest, module, valid = text, [], True
        while rest.startswith("module.") and valid:
            step, dot, rest = rest.removeprefix("module.").partition(".")
            valid = bool(dot and NAME_RE.match(step))
            module.append(step)
        kind_text, dot, name = rest.partition(".")
        kind = Kind.parse(kind_text)
        if not valid or not dot or kind is None or not _valid_instance(kind, name):
            kinds = ", ".join(k.value for k in Kind)
            raise ValueError(f"'{text}' is not an address like guests.web-0 (kinds: {kinds})")
        return cls(kind, name, tuple(module))


def _valid_instance(kind: Kind, name: str) -> bool:
    return bool(INSTANCE_RE.match(name) if kind is Kind.IMAGE else NAME_RE.match(name))


def image_instance(name: str, provider: str) -> str:
    """The instance of image ``name`` on provider block ``provider``: ``debian-12@kvm``."""
    return f"{name}@{provider}"


def image_object_name(instance: str) -> str:
    """The image's name on the hypervisor, without the provider block: ``debian-12@kvm``
    gives ``debian-12``; a second name keeps its suffix (``debian-12@kvm.r1`` gives
    ``debian-12.r1``)."""
    base, _, rest = instance.partition("@")
    cut = rest.find(".")
    return base if cut < 0 else base + rest[cut:]
