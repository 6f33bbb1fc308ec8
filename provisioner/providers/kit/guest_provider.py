"""GuestOnlyProvider: what the command-driven providers (VirtualBox, VMware desktop,
Hyper-V, Parallels) share around their guests: they serve guests only, on one pool
named for the host's disks, with their own plan checks plus the kit's check that a
fixed MAC is not already another VM's.

A provider sets ``guest_schema`` and ``pool``, and writes ``guest_problems`` (its
plan-time refusals) and ``mac_holders`` (the MACs of VMs outside the stack, from its
last bulk read); create, update and delete stay its own.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, ClassVar

from provisioner.core.address import Kind
from provisioner.core.problems import Problem
from provisioner.core.resources import Resource
from provisioner.errors import ProviderError
from provisioner.providers.base import KindSchema, Provider, ProviderSchema
from provisioner.providers.kit.macs import MacHolder, declares_macs, mac_clashes


class GuestOnlyProvider(Provider):
    """A provider of guests only (networks, volumes and pools are the host's)."""

    guest_schema: ClassVar[KindSchema]
    pool: ClassVar[str]
    settings: Any
    """The provider block (its ``max_parallel`` caps concurrent changes)."""

    def schema(self) -> ProviderSchema:
        return ProviderSchema(kinds={Kind.GUEST: self.guest_schema},
                              max_parallel=self.settings.max_parallel)

    @property
    def default_pool(self) -> str:
        return self.pool

    def check(self, resources: Sequence[Resource]) -> list[Problem]:
        guests = [r for r in resources if r.kind is Kind.GUEST]
        if not guests:
            return []
        problems = self.guest_problems(guests)
        if declares_macs(guests):
            problems += mac_clashes(guests, self.mac_holders())
        return problems

    def guest_problems(self, guests: Sequence[Resource]) -> list[Problem]:
        """What the plan refuses in these guests (after ``list_managed``)."""
        raise NotImplementedError

    def mac_holders(self) -> Mapping[str, MacHolder]:
        """Fixed MACs of VMs outside the stack, from the last bulk read."""
        raise NotImplementedError

    def _guest_only(self, kind: Kind) -> None:
        if kind is not Kind.GUEST:
            raise ProviderError(f"the {self.type_name} provider cannot do this for {kind.value}")
