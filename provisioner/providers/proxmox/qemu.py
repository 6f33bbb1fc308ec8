"""Guests as QEMU VMs: cloned from a template or made from scratch, configured, powered.

A clone runs on the template's node (``target`` moves it, which Proxmox
allows only from shared storage; with one template of the same name per node,
the one on the guest's node is used). After the clone task the config lock
may still be held: configuring waits until it is gone. Then the config is
brought to the spec in one write (only what differs), disks grow, and the
guest is started. An update writes only the keys of the fields the plan lists.
Changes Proxmox cannot make while the guest runs stay pending; apply then
restarts it if the plan announced a restart, unless ``options.restart`` is
``never``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from functools import partial
from typing import Any

from provisioner.core.address import Kind, image_object_name
from provisioner.core.resources import LiveObject, Resource
from provisioner.core.specs import GuestSpec
from provisioner.errors import ProviderError
from provisioner.providers.base import CallKind
from provisioner.providers.kit.changes import only_changed, touched
from provisioner.providers.kit.images import declared_images
from provisioner.providers.kit.marker import Marker
from provisioner.providers.proxmox import GuestOptions, hotplug
from provisioner.providers.proxmox.facts import Facts, GuestRef
from provisioner.providers.proxmox.guests import Guests, managed_keys
from provisioner.providers.proxmox.ownership import parse_marker
from provisioner.providers.proxmox.props import drive_slot, parse_props, size_text
from provisioner.providers.proxmox.qemu_read import (
    disks_of,
    nets_of,
    private,
    read_guest,
)
from provisioner.providers.proxmox.qemu_write import (
    assign_slots,
    config_changes,
    disk_work,
    wanted_config,
)


class Qemu(Guests):
    kind = "qemu"
    noun = "VM"
    stack_kind = Kind.GUEST
    image_volid: Callable[[str, str], str] | None = None
    """The volume id of a declared image (``Images.volid_of``), set by the provider."""

    # -- create ---------------------------------------------------------------------------

    def make(self, resource: Resource, facts: Facts) -> GuestRef:
        what = str(resource.address)
        guest = GuestSpec.of(resource.spec)
        clone = guest.clone
        if clone:
            with_template = {t.node for t in facts.templates(str(clone))}
            node = self.ctx.nodes.place(resource, facts,
                                  lambda n: n in with_template or not with_template)
            template, target = self.pick_template(str(clone), node, facts, what)
        else:
            node = self.ctx.nodes.place(resource, facts)
        self.ctx.nodes.require_online(facts, node, what)
        options = guest.options_as(GuestOptions)

        def create(vmid: int) -> None:
            if clone:
                self._clone(resource, template, target, node, vmid)
            else:
                self._scratch(resource, node, vmid)

        vmid = self.with_vmid(resource, node, create)
        return GuestRef(self.kind, vmid, node, resource.name, "stopped", False, "", None,
                        options.pool, 0, 0)

    def pick_template(self, name: str, node: str, facts: Facts, what: str
                      ) -> tuple[GuestRef, str | None]:
        """The template to clone for a guest on ``node``, and the clone's ``target``."""
        found = facts.templates(name)
        if not found:
            raise ProviderError(f"{what}: no template named '{name}' (templates: "
                                f"{', '.join(facts.template_names()) or 'none'})")
        local = [t for t in found if t.node == node]
        if local:
            return local[0], None
        for template in found:
            config = self.client.get(CallKind.READ, what, f"{template.path}/config")
            storages = {d.storage for d in disks_of(config).values() if d.storage}
            if all(facts.storages.get(s) is not None and facts.storages[s].shared
                   for s in storages):
                return template, node
        where = ", ".join(sorted(t.node for t in found))
        raise ProviderError(
            f"{what}: template '{name}' is on {where}, on storage that is not shared, so a "
            f"clone cannot move to {node}",
            hint=f"make the template on {node} too (same name), or keep it on shared storage")

    def _clone(self, resource: Resource, template: GuestRef, target: str | None, node: str,
               vmid: int) -> None:
        what = str(resource.address)
        guest = GuestSpec.of(resource.spec)
        options = guest.options_as(GuestOptions)
        full = options.full_clone
        source = self.client.get(CallKind.READ, what, f"{template.path}/config")
        template_slots = sorted(disks_of(source))
        disks = guest.disks
        busy = [k for k in source if k[:3] in ("ide", "sat", "scs", "vir") and k[-1].isdigit()]
        slots = assign_slots(disks, preferred=template_slots, busy=busy)
        storage = next((self.ctx.names.storage_id(resource, f"disks[{i}].pool", d.pool)
                        for i, (d, s) in enumerate(zip(disks, slots, strict=True))
                        if s in template_slots and d.pool), None)
        if storage is not None and not full:
            raise ProviderError(f"{what}: a linked clone stays on the template's storage; "
                                f"disks cannot go to {storage}",
                                hint="drop pool: from its disks, or set full_clone: true")
        applied = self.applied(resource, {"slots": slots, "template_slots": template_slots,
                                          "template_nets": [f"net{i}" for i in nets_of(source)]})
        params = {"newid": vmid, "name": resource.name, "full": 1 if full else 0,
                  "storage": storage if full else None, "target": target,
                  "pool": options.pool,
                  "description": self.owner.description(
                      options.description or "", resource.address, applied,
                      resource.lifecycle.prevent_destroy)}
        used = {storage or s for s in (d.storage for d in disks_of(source).values()) if s}
        with self.ctx.limits.hold(template.node, used):
            self.ctx.tasks.run(what, lambda: self.client.post(
                what, f"{template.path}/clone", idempotent=False, **params), idempotent=False)

    def _scratch(self, resource: Resource, node: str, vmid: int) -> None:
        what = str(resource.address)
        guest = GuestSpec.of(resource.spec)
        options = guest.options_as(GuestOptions)
        disks = guest.disks
        slots = assign_slots(disks)
        applied = self.applied(resource, {"slots": slots})
        description = self.owner.description(options.description or "", resource.address,
                                              applied, resource.lifecycle.prevent_destroy)
        wanted = wanted_config(guest, resource.name, self.owner.tags(list(options.tags or [])),
                               description, {}, None, self._ci_storage(resource))
        work = disk_work(disks, slots, {}, self._disk_storage(resource),
                         imports=self._imports(resource))
        params: dict[str, Any] = {k: v for k, v in wanted.values.items() if v is not None}
        params |= dict(work.new)
        params |= {"vmid": vmid, "pool": options.pool}
        if slots:
            params["boot"] = f"order={slots[0]}"
        storages = {str(v).split(":", 1)[0] for v in work.new.values()}
        with self.ctx.limits.hold(node, storages):
            self.ctx.tasks.run(what, lambda: self.client.post(
                what, f"nodes/{node}/qemu", idempotent=False, **params), idempotent=False)

    # -- configure (after a create, and for updates) ----------------------------------------

    def configure(self, resource: Resource, ref: GuestRef, live: LiveObject | None,
                  changed: Sequence[str] | None) -> None:
        what = str(resource.address)
        self.ctx.power.wait_unlocked(ref.path, what)
        view = self.ctx.cluster.config(ref, what)
        marker = parse_marker(view.current.get("description"))
        notes = private(marker.memo) if marker is not None else {}
        resource = only_changed(resource, live, changed)
        guest = GuestSpec.of(resource.spec)
        options = guest.options_as(GuestOptions)
        disks = guest.disks
        slots = assign_slots(disks, kept=list(notes.get("slots") or []),
                             busy=[key for key in view.effective if drive_slot(key)])
        detach = _detached(live, changed, len(disks))
        work = disk_work(disks, slots, view.effective, self._disk_storage(resource),
                         list(detach.values()), self._imports(resource))
        applied = self.applied(resource, {**notes, "slots": slots})
        description = self.owner.description(options.description or "", resource.address,
                                             applied, resource.lifecycle.prevent_destroy)
        wanted = wanted_config(guest, resource.name,
                               self.owner.tags(list(options.tags or [])), description,
                               view.effective, changed, self._ci_storage(resource))
        change = config_changes(wanted, view.effective, changed)
        change.set |= dict(work.new)
        change.delete += list(work.detach)
        running = self.ctx.power.running(ref.path, what)
        if running and guest.power == "stopped":
            self.ctx.power.stop(ref.path, ref.node, what)
            running = False
        storages = {str(v).split(":", 1)[0] for v in work.new.values()}
        with self.ctx.limits.hold(ref.node, storages):
            if change:
                self.client.put(what, f"{ref.path}/config", **change.params())
            for slot, size in work.grow.items():
                self.ctx.tasks.run(what, partial(self.client.put, what, f"{ref.path}/resize",
                                                 disk=slot, size=size_text(size)))
        if changed is None or touched("options.pool", changed):
            self.set_pool(ref.vmid, options.pool, ref.pool, what)
        devices = {**{f"disks[{index}]": slot for index, slot in enumerate(slots)}, **detach}
        self.restart_for_pending(resource, ref, running,
                                 managed_keys(change, wanted, devices, changed), live, changed)
        if detach:  # after the restart: a detach Proxmox held pending is done by then
            self.destroy_unused(ref, what, {view.current[s] for s in detach.values()
                                            if s in view.current})
        self.ctx.power.set_power(ref.path, ref.node, what, running, guest.power)

    def _disk_storage(self, resource: Resource) -> Callable[[str | None, int], str]:
        """Declared disk N's storage id, from its ``pool:``."""
        return lambda pool, index: self.ctx.names.storage_id(resource, f"disks[{index}].pool", pool)

    def _imports(self, resource: Resource) -> dict[int, str]:
        """Declared disk N → the image volume it is a copy of (``image:`` is disk 0's)."""
        found: dict[int, str] = {}
        for path, address in sorted(declared_images(resource).items()):  # disks[N] first
            index = int(path[6:-7]) if path.startswith("disks[") else 0
            if index in found:
                continue  # disks[0].image over the guest's image:
            if self.image_volid is None:
                raise ProviderError(f"{resource.address}: {address} is not imported here")
            found[index] = self.image_volid(image_object_name(resource.name_of(address)),
                                            str(resource.address))
        return found

    def _ci_storage(self, resource: Resource) -> Callable[[str | None], str]:
        """The cloud-init drive's storage id."""
        return lambda pool: self.ctx.names.storage_id(resource, "options.cloud_init.storage", pool)

    # -- read -----------------------------------------------------------------------------

    def read(self, config: Mapping[str, Any], ref: GuestRef, marker: Marker) -> dict[str, Any]:
        return read_guest(config, ref.node, ref.running, marker, self.ctx.names.pool_of, ref.pool,
                          ref.vmid)

    def attributes(self, config: Mapping[str, Any]) -> dict[str, Any]:
        macs = [n["macaddr"].lower() for _, n in sorted(nets_of(config).items())
                if n.get("macaddr")]
        ips = [parse_props(config[k]).get("ip", "").split("/")[0]
               for k in sorted(config) if k.startswith("ipconfig")]
        ips = [ip for ip in ips if ip and ip != "dhcp"]
        return {"macs": macs, "ip": ips[0] if ips else None, "ips": ips,
                "hotplug": hotplug.features(config.get("hotplug"))}

    def storages(self, config: Mapping[str, Any]) -> list[str]:
        return sorted({d.storage for d in disks_of(config).values() if d.storage})


def _detached(live: LiveObject | None, changed: Sequence[str] | None,
              count: int) -> dict[str, str]:
    """The disks the stack removed (``disks[i]`` changed, i past the end): path → slot."""
    if live is None or not changed:
        return {}
    return {f"disks[{index}]": str(disk.slot)
            for index, disk in GuestSpec.of(live.spec).indexed_disks
            if index >= count and f"disks[{index}]" in changed}
