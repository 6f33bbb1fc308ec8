"""Pools as Proxmox directory storages (``pools:`` → ``/storage``, type ``dir``).

The stack's pool kind is "a directory of disk images on the host", which is
what a Proxmox ``dir`` storage is: a cluster-wide entry in storage.cfg that
each node (or the listed ones) serves from the path. Storages carry no tags
or notes, so the id is the ownership tag: ``STACK_NAME``. Deleting one only
removes the entry; the files under the path stay (as with ``pvesm remove``).
Proxmox *resource pools* (groups of guests for permissions) are a guest
option instead: ``options.pool``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from provisioner.core.address import Address, Kind
from provisioner.core.resources import LiveObject, Resource, address_name
from provisioner.core.specs import PoolSpec
from provisioner.errors import ObjectNotFoundError, ProviderError
from provisioner.providers.base import CallKind
from provisioner.providers.proxmox import PoolOptions
from provisioner.providers.proxmox.client import AlreadyExistsError
from provisioner.providers.proxmox.context import Context
from provisioner.providers.proxmox.props import flag, split_tags, to_bool

DEFAULT_CONTENT = ["images", "rootdir"]


class Storages:
    """The stack's directory storages."""

    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx
        self.client = ctx.client
        self.owner = ctx.owner

    def listed(self) -> list[LiveObject]:
        """This stack's storages in the last listing."""
        found = []
        for sid, info in sorted(self.ctx.cluster.facts.storages.items()):
            name = self.owner.pool_name(sid)
            if name is not None:
                found.append(self.live_object(sid, name, info.config))
        return found

    def live_object(self, sid: str, name: str, config: Mapping[str, Any]) -> LiveObject:
        return LiveObject(
            address=Address(Kind.POOL, address_name(name)), provider=self.owner.provider,
            name=name, id=sid,
            spec={"type": str(config.get("type") or "dir"), "path": config.get("path"),
                  "options": {"content": sorted(split_tags(config.get("content"))),
                              "shared": bool(to_bool(config.get("shared"))),
                              "nodes": sorted(split_tags(config.get("nodes")))}},
            attributes={"storage": sid},
        )

    def create(self, resource: Resource) -> LiveObject:
        """Add the storage; one this stack already has under that id is updated instead."""
        sid = self.owner.storage_id(resource.name)
        what = str(resource.address)
        try:
            current = self.client.get(CallKind.READ, what, f"storage/{sid}")
        except ObjectNotFoundError:
            current = None
        path = PoolSpec.of(resource.spec).path
        if current is not None:
            if current.get("path") != path or current.get("type") != "dir":
                raise ProviderError(f"{what}: storage {sid} already exists with path "
                                    f"{current.get('path')}",
                                    hint=f"remove it (pvesm remove {sid}) or rename the pool")
            return self.update(resource, ["options"])
        try:
            self.client.post(what, "storage", storage=sid, type="dir", path=path,
                             **self._settings(resource))
        except AlreadyExistsError:  # a repeated request whose first answer was lost
            if PoolSpec.of(self.read(resource).spec).path != path:
                raise
        return self.read(resource)

    def update(self, resource: Resource, changed: Sequence[str]) -> LiveObject:
        sid = self.owner.storage_id(resource.name)
        settings = self._settings(resource)
        deletes = [key for key, value in settings.items() if value is None]
        params = {key: value for key, value in settings.items() if value is not None}
        if deletes:
            params["delete"] = ",".join(deletes)
        self.client.put(str(resource.address), f"storage/{sid}", **params)
        return self.read(resource)

    def delete(self, live: LiveObject) -> None:
        try:
            self.client.delete(str(live.address), f"storage/{live.id}")
        except ObjectNotFoundError:
            return

    def read(self, resource: Resource) -> LiveObject:
        sid = self.owner.storage_id(resource.name)
        config = self.client.get(CallKind.READ, str(resource.address), f"storage/{sid}")
        return self.live_object(sid, resource.name, config)

    def _settings(self, resource: Resource) -> dict[str, Any]:
        """content, shared, nodes; None: the key is to be deleted (all nodes)."""
        options = PoolSpec.of(resource.spec).options_as(PoolOptions)
        nodes = list(options.nodes or [])
        return {"content": ",".join(options.content or DEFAULT_CONTENT),
                "shared": flag(options.shared),
                "nodes": ",".join(nodes) if nodes else None}
