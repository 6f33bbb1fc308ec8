"""What a guest's names refer to in the pool: templates, SRs, networks, hosts.

Resolved against the last bulk read; a name that does not resolve is a
ProviderError here (the plan-time checks, ``checks.py``, refuse it first with
the names that exist).
"""

from __future__ import annotations

from provisioner.core.specs import GuestSpec
from provisioner.errors import ProviderError
from provisioner.providers.xenserver import GuestOptions, XenServerConfig
from provisioner.providers.xenserver.facts import Pool


class Targets:
    """Name → reference lookups for one guest's change."""

    def __init__(self, pool: Pool, settings: XenServerConfig, what: str) -> None:
        self.pool = pool
        self.settings = settings
        self.what = what

    @property
    def default_sr(self) -> str:
        """The SR of disks that name no ``pool:``: the block's ``sr``, else the pool's default."""
        if self.settings.sr is not None:
            return self.sr(self.settings.sr)
        found = self.pool.default_sr()
        if found is None:
            raise ProviderError(f"{self.what}: the pool has no default SR",
                                hint="set sr: in the provider block, or pool: on each disk")
        return found

    def sr(self, name: str) -> str:
        found = self.pool.srs().get(name)
        if found is None:
            raise ProviderError(f"{self.what}: no SR named '{name}'")
        return found

    def template(self, name: str) -> str:
        found = self.pool.templates().get(name)
        if found is None:
            raise ProviderError(f"{self.what}: no template named '{name}'")
        return found

    def template_srs(self, template: str) -> set[str]:
        vm = self.pool.get("VM", template) or {}
        return {str(vdi["SR"]) for _ref, _vbd, vdi in self.pool.disks(vm) if vdi is not None}

    def copy_sr(self, template: str, guest: GuestSpec, options: GuestOptions) -> str | None:
        """The SR a full copy goes to, or None for a fast clone: a copy when the options
        say so, or when the first disk names an SR the template's disks are not on."""
        first = guest.disks[0].pool if guest.disks else None
        target = self.sr(first) if first else None
        sources = self.template_srs(template)
        if options.full_copy:
            return target or self.default_sr
        if target is not None and sources and target not in sources:
            return target
        return None

    def networks(self, guest: GuestSpec) -> list[str]:
        """The network reference of each NIC (by name, or by bridge)."""
        found = []
        names, bridges = self.pool.networks(), self.pool.bridges()
        for index, nic in enumerate(guest.networks):
            ref = names.get(nic.host_network or "") if nic.host_network else \
                bridges.get(nic.bridge or "")
            if ref is None:
                raise ProviderError(f"{self.what} networks[{index}]: no network named "
                                    f"'{nic.attachment}'")
            found.append(ref)
        return found

    def affinity(self, guest: GuestSpec) -> str | None:
        """The host of ``node:``, or None."""
        if not guest.node:
            return None
        found = self.pool.hosts().get(guest.node)
        if found is None:
            raise ProviderError(f"{self.what}: no host named '{guest.node}'")
        return found

    start_host = affinity

    def drive_sr(self, guest: GuestSpec) -> str:
        """Where the cloud-init drive goes: the first disk's SR, else the default."""
        first = guest.disks[0].pool if guest.disks else None
        return self.sr(first) if first else self.default_sr
