"""What a provider does not make, refused at the field that asks for it. Pure.

A command-driven provider serves a subset of the guest fields (no images, no
pools, no VLANs...). It lists them in tables (field → why, and the next step),
and ``Refusals`` turns a guest declaration into one problem per field it sets
that the provider does not serve: the plan shows each at its line, and a create
refuses the first (``refused_create``) in case the plan-time check was skipped.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

from provisioner.core.problems import Problem
from provisioner.core.resources import Resource
from provisioner.core.specs import GuestSpec
from provisioner.errors import ProviderError

Refuse = Callable[[str, str, str], None]
"""Adds a problem: (path, summary, hint)."""


@dataclass(frozen=True)
class Refusals:
    """One provider type's tables of what it does not serve."""

    provider: str
    """The type name, as errors say it (``the virtualbox provider``)."""
    guest: Mapping[str, tuple[str, str]] = field(default_factory=dict)
    """Guest field → (summary, hint)."""
    disk: Mapping[str, str] = field(default_factory=dict)
    """Disk field → why (the hint)."""
    nic: Mapping[str, str] = field(default_factory=dict)
    """NIC field → why (the hint)."""

    def collect(self, resource: Resource, guest: GuestSpec) -> tuple[list[Problem], Refuse]:
        """The problems of every table field ``guest`` sets, and a ``Refuse`` that adds the
        provider's own ones to the same list."""
        found: list[Problem] = []

        def refuse(path: str, summary: str, hint: str = "") -> None:
            found.append(Problem(summary, resource.address, path, hint=hint))

        for key, (why, hint) in self.guest.items():
            if getattr(guest, key):
                refuse(key, why, hint)
        if resource.settings.get("wait_for"):
            refuse("wait_for", f"is not supported by the {self.provider} provider yet (a "
                   "guest's address is not read yet)", "drop wait_for")
        unsupported = f"is not supported by the {self.provider} provider"
        for index, disk in enumerate(guest.disks):
            for key, why in self.disk.items():
                if getattr(disk, key) is not None:
                    refuse(f"disks[{index}].{key}", unsupported, why)
        for index, nic in enumerate(guest.networks):
            for key, why in self.nic.items():
                if getattr(nic, key) is not None:
                    refuse(f"networks[{index}].{key}", unsupported, why)
        return found, refuse


def refused_create(problems: Sequence[Problem], what: str) -> None:
    """Raise the first of ``problems`` as the error of a create (``what`` names the guest)."""
    if problems:
        first = problems[0]
        raise ProviderError(f"{what}: {first.path}: {first.summary}", hint=first.hint)
