"""QemuProvider: the provider contract on QEMU processes of this user; wiring only.

Field rules are ``schema``; the bulk read is ``inventory.Lister``; capacity is
``capacity``; plan-time checks are ``checks``; a guest's changes are
``guests``; every program run and QMP session goes through ``client``.
"""

from __future__ import annotations

import shutil
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from provisioner.core.address import Kind
from provisioner.core.problems import Problem
from provisioner.core.resources import LiveObject, Resource
from provisioner.core.snapshots import SnapshotInfo
from provisioner.errors import ProviderError
from provisioner.providers.base import (
    CallKind,
    Capacity,
    Inventory,
    Owner,
    Provider,
    ProviderSchema,
)
from provisioner.providers.qemu import QemuConfig
from provisioner.providers.qemu.accel import detect_accel
from provisioner.providers.qemu.capacity import POOL, read_capacity
from provisioner.providers.qemu.checks import plan_checks
from provisioner.providers.qemu.client import QemuHost
from provisioner.providers.qemu.files import Tree, provider_root
from provisioner.providers.qemu.guests import Guests
from provisioner.providers.qemu.images import Images
from provisioner.providers.qemu.inventory import Lister
from provisioner.providers.qemu.networks import Networks
from provisioner.providers.qemu.ownership import Ownership
from provisioner.providers.qemu.schema import (
    GUEST_SCHEMA,
    IMAGE_SCHEMA,
    NETWORK_SCHEMA,
    VOLUME_SCHEMA,
)
from provisioner.providers.qemu.snapshots import Snapshots
from provisioner.providers.qemu.volumes import Volumes


class QemuProvider(Provider):
    """Guests of one provider block, each a QEMU process of this user."""

    type_name = "qemu"

    def __init__(self, name: str, config: Any, owner: Owner) -> None:
        super().__init__(name, config, owner)
        self.settings: QemuConfig = config
        self.directory = owner.directory
        self.root = provider_root(self.settings.dir, owner.directory)
        self.binary = self.settings.binary or f"qemu-system-{self.settings.arch}"
        self.host = QemuHost(self.binary, self.settings.qemu_img, self.stats)
        self.ownership = Ownership(owner.stack, name)
        self.tree = Tree(self.root, owner.stack, name)
        self.networks = Networks(self.tree, self.ownership)
        self.volumes = Volumes(self.host, self.tree, self.ownership)
        self.images = Images(self.tree, self.ownership, self.stats, owner.directory)
        self.guests = Guests(self.host, self.tree, self.ownership, self.settings,
                             self.accel, self.resolve, self.networks, self.volumes,
                             self.images)
        self.lister = Lister(self.host, self.tree, self.ownership, self.networks)
        self.snapshot_ops = Snapshots(self.host, self.tree, self.guests)
        self._accel: str | None = None

    def schema(self) -> ProviderSchema:
        return ProviderSchema(kinds={Kind.GUEST: GUEST_SCHEMA, Kind.NETWORK: NETWORK_SCHEMA,
                                     Kind.VOLUME: VOLUME_SCHEMA, Kind.IMAGE: IMAGE_SCHEMA},
                              max_parallel=self.settings.max_parallel)

    def accel(self) -> str:
        """kvm or tcg: what the block says, or (auto) kvm when it works here."""
        if self._accel is None:
            wanted = self.settings.accel
            self._accel = detect_accel() if wanted == "auto" else wanted
        return self._accel

    def resolve(self, path: str) -> Path:
        """A file the stack names, absolute: relative to the stack's directory."""
        found = Path(path).expanduser()
        return found if found.is_absolute() else (self.directory or Path.cwd()) / found

    @property
    def default_pool(self) -> str:
        return POOL

    def list_managed(self) -> Inventory:
        self.host.installed()  # no QEMU here is this provider's "unreachable"
        with self.stats.track(CallKind.LIST):
            networks = self.networks.inventory()
            volumes, half_made = self.volumes.inventory()
            images, half_imported = self.images.inventory()
        found = self.lister.inventory({network.name: network for network in networks})
        return Inventory([*found.managed, *networks, *volumes, *images],
                         leftovers=[*found.leftovers, *half_made, *half_imported])

    def check(self, resources: Sequence[Resource]) -> list[Problem]:
        binary = shutil.which(self.binary) or self.binary
        return plan_checks(resources, self.settings, self.name, binary, self.resolve,
                           self.accel)

    def capacity(self) -> Capacity:
        return read_capacity(self.host, self.root)

    def create(self, resource: Resource) -> LiveObject:
        if resource.kind is Kind.NETWORK:
            return self._write_network(resource)
        if resource.kind is Kind.VOLUME:
            self.volumes.create(resource)
            return self._volume(resource)
        if resource.kind is Kind.IMAGE:
            return self.images.create(resource)
        self.guests.create(resource)
        return self.lister.guest(resource.name, str(resource.address))

    def update(self, resource: Resource, live: LiveObject, changed: Sequence[str]) -> LiveObject:
        if resource.kind is Kind.NETWORK:
            return self._write_network(resource)
        if resource.kind is Kind.VOLUME:
            if any(path == "size" for path in changed):
                self.volumes.grow(resource, live)
            else:
                self.volumes.rewrite(resource)
            return self._volume(resource)
        if resource.kind is Kind.IMAGE:  # only options: nothing on the file changes
            return live
        self.guests.update(resource, live, changed)
        return self.lister.guest(live.name, str(resource.address))

    def snapshots(self, live: LiveObject) -> list[SnapshotInfo]:
        return self.snapshot_ops.read(live)

    def snapshot_create(self, live: LiveObject, name: str) -> SnapshotInfo:
        return self.snapshot_ops.create(live, name)

    def snapshot_revert(self, live: LiveObject, name: str) -> LiveObject:
        self.snapshot_ops.revert(live, name)
        return self.lister.guest(live.name, str(live.address))

    def snapshot_delete(self, live: LiveObject, name: str) -> None:
        self.snapshot_ops.delete(live, name)

    def delete(self, live: LiveObject) -> None:
        if live.kind is Kind.NETWORK:
            with self.stats.track(CallKind.WRITE):
                self.networks.delete(live)
        elif live.kind is Kind.VOLUME:
            self.volumes.delete(live)
        elif live.kind is Kind.IMAGE:
            self.images.delete(live)
        else:
            self.guests.delete(live)

    def _volume(self, resource: Resource) -> LiveObject:
        made = self.volumes.read(resource.name)
        if made is None:
            raise ProviderError(f"{resource.address}: its marker is gone right after it "
                                "was written")
        return made

    def _write_network(self, resource: Resource) -> LiveObject:
        with self.stats.track(CallKind.WRITE):
            self.networks.write(resource)
        written = self.networks.read(resource.name)
        if written is None:
            raise ProviderError(f"{resource.address}: its marker is gone right after "
                                "it was written")
        return written
