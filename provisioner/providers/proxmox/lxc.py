"""Containers as LXC: made from an OS template, configured, resized, powered.

Proxmox changes cores, memory, swap and NICs of a running container at once;
other changes wait for a restart (apply restarts it unless
``options.restart`` is ``never``). The root filesystem and mount points grow
in place, never shrink.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from functools import partial
from typing import Any

from provisioner.core.address import Kind
from provisioner.core.resources import LiveObject, Resource
from provisioner.core.specs import ContainerSpec
from provisioner.providers.kit.changes import only_changed, touched
from provisioner.providers.kit.marker import Marker
from provisioner.providers.proxmox import ContainerOptions
from provisioner.providers.proxmox.facts import Facts, GuestRef
from provisioner.providers.proxmox.guests import Guests, managed_keys
from provisioner.providers.proxmox.lxc_spec import (
    mounts_of,
    nets_of,
    new_volume,
    read_container,
    storage_of_value,
    wanted_container,
)
from provisioner.providers.proxmox.props import flag, parse_drive, size_text
from provisioner.providers.proxmox.qemu_write import Wanted, config_changes


class Lxc(Guests):
    kind = "lxc"
    noun = "container"
    stack_kind = Kind.CONTAINER

    def _wanted(self, resource: Resource, current: Mapping[str, Any],
                changed: Collection[str] | None) -> Wanted:
        """The config the container's spec asks for, with our tags and description."""
        options = _options(resource)
        description = self.owner.description(options.description or "",
                                             resource.address, self.applied(resource, {}),
                                             resource.lifecycle.prevent_destroy)
        return wanted_container(ContainerSpec.of(resource.spec), resource.name,
                                self.owner.tags(list(options.tags or [])),
                                description, current, changed)

    def make(self, resource: Resource, facts: Facts) -> GuestRef:
        what = str(resource.address)
        node = self.ctx.nodes.place(resource, facts)
        self.ctx.nodes.require_online(facts, node, what)
        box = ContainerSpec.of(resource.spec)
        options = box.options_as(ContainerOptions)
        wanted = self._wanted(resource, {}, None)
        params: dict[str, Any] = {k: v for k, v in wanted.values.items() if v is not None}
        params["rootfs"] = new_volume(self._storage(resource, "rootfs.pool", box.rootfs.pool),
                                      box.rootfs.size)
        for index, mount in enumerate(box.mounts):
            storage = self._storage(resource, f"mounts[{index}].pool", mount.pool)
            params[f"mp{index}"] = new_volume(storage, mount.size, mount.path)
        keys = list(options.ssh_keys or [])
        params |= {"ostemplate": box.template, "pool": options.pool,
                   "unprivileged": flag(options.unprivileged),
                   "ssh-public-keys": "\n".join(keys) + "\n" if keys else None}
        storages = {str(storage_of_value(params[k])) for k in params
                    if k == "rootfs" or k.startswith("mp")}

        def create(vmid: int) -> None:
            with self.ctx.limits.hold(node, storages):
                self.ctx.tasks.run(what, lambda: self.client.post(
                    what, f"nodes/{node}/lxc", idempotent=False, vmid=vmid, **params),
                    idempotent=False)

        vmid = self.with_vmid(resource, node, create)
        return GuestRef(self.kind, vmid, node, resource.name, "stopped", False, "", None,
                        options.pool, 0, 0)

    def configure(self, resource: Resource, ref: GuestRef, live: LiveObject | None,
                  changed: Sequence[str] | None) -> None:
        what = str(resource.address)
        self.ctx.power.wait_unlocked(ref.path, what)
        view = self.ctx.cluster.config(ref, what)
        resource = only_changed(resource, live, changed)
        box = ContainerSpec.of(resource.spec)
        options = box.options_as(ContainerOptions)
        slots = box.mount_slots
        wanted = self._wanted(resource, view.effective, changed)
        change = config_changes(wanted, view.effective, changed)
        grow = self._mounts(resource, view.effective, change.set)
        removed = _removed_mounts(view.current, slots, live, changed)
        change.delete += [key for key in removed.values() if key in view.effective]
        running = self.ctx.power.running(ref.path, what)
        if running and box.power == "stopped":
            self.ctx.power.stop(ref.path, ref.node, what)
            running = False
        with self.ctx.limits.hold(ref.node):
            if change:
                self.client.put(what, f"{ref.path}/config", **change.params())
            for disk, size in grow.items():
                self.ctx.tasks.run(what, partial(self.client.put, what, f"{ref.path}/resize",
                                                 disk=disk, size=size_text(size)))
        if changed is None or touched("options.pool", changed):
            self.set_pool(ref.vmid, options.pool, ref.pool, what)
        devices = {"rootfs": "rootfs", **removed, **{
            f"mounts[{i}]": f"mp{i}" for i in range(slots)}}
        self.restart_for_pending(resource, ref, running,
                                 managed_keys(change, wanted, devices, changed), live, changed)
        if removed:  # after the restart: a removal Proxmox held pending is done by then
            self.destroy_unused(ref, what, {view.current[key] for key in removed.values()})
        self.ctx.power.set_power(ref.path, ref.node, what, running, box.power)

    def _mounts(self, resource: Resource, current: Mapping[str, Any],
                put: dict[str, str]) -> dict[str, int]:
        """New mount points and new paths into ``put``; returns growth."""
        grow: dict[str, int] = {}
        box = ContainerSpec.of(resource.spec)
        have = parse_drive(current.get("rootfs"), "volume").size
        if have is not None and box.rootfs.size > have:
            grow["rootfs"] = box.rootfs.size
        existing = mounts_of(current)
        for index, mount in enumerate(box.mounts):
            key = f"mp{index}"
            if index not in existing:
                storage = self._storage(resource, f"mounts[{index}].pool", mount.pool)
                put[key] = new_volume(storage, mount.size, mount.path)
                continue
            drive = parse_drive(existing[index], "volume")
            if drive.props.get("mp") != mount.path:
                put[key] = ",".join([drive.volume, *(f"{k}={v}" for k, v in
                                                     {**drive.props, "mp": mount.path}.items())])
            if drive.size is not None and mount.size > drive.size:
                grow[key] = mount.size
        return grow

    def _storage(self, resource: Resource, path: str, pool: str | None) -> str:
        return self.ctx.names.storage_id(resource, path, pool)

    def read(self, config: Mapping[str, Any], ref: GuestRef, marker: Marker) -> dict[str, Any]:
        return read_container(config, ref.node, ref.running, marker, self.ctx.names.pool_of,
                              ref.pool, ref.vmid)

    def attributes(self, config: Mapping[str, Any]) -> dict[str, Any]:
        nets = [n for _, n in sorted(nets_of(config).items())]
        ips = [n.get("ip", "").split("/")[0] for n in nets]
        ips = [ip for ip in ips if ip and ip not in ("dhcp", "manual")]
        return {"macs": [n["hwaddr"].lower() for n in nets if n.get("hwaddr")],
                "ip": ips[0] if ips else None, "ips": ips}

    def storages(self, config: Mapping[str, Any]) -> list[str]:
        values = [config.get("rootfs"), *mounts_of(config).values()]
        return sorted({s for s in (storage_of_value(v) for v in values if v) if s})


def _removed_mounts(current: Mapping[str, Any], count: int, live: LiveObject | None,
                    changed: Sequence[str] | None) -> dict[str, str]:
    """The mount points the stack removed (``mounts[i]`` changed, i past the end):
    path → config key."""
    if live is None or not changed:
        return {}
    return {f"mounts[{i}]": f"mp{i}" for i in mounts_of(current)
            if i >= count and f"mounts[{i}]" in changed}


def _options(resource: Resource) -> ContainerOptions:
    return ContainerSpec.of(resource.spec).options_as(ContainerOptions)
