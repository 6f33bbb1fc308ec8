"""Plan-time checks: what the stack names outside itself exists, and fits, on the cluster.

Nodes, storages (and that they take disks, container volumes, snippets, on
that node), bridges, templates, OS templates, resource pools, fields this
provider cannot honour (memory per node is the core admission check), and
fixed VMIDs and MACs someone else holds (``clashes``). Each problem names the
resource and what exists instead, and the field at fault where there is one (it
is shown at that field's line) with the next step. Reads the last
listing; a few extra listings are made only when the stack names something to
look up (a node's bridges, a storage's templates, the resource pools): LIST
calls, never one per guest.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from functools import cache
from typing import Any

from provisioner.core.address import Kind
from provisioner.core.problems import Problem
from provisioner.core.resources import Resource
from provisioner.core.specs import ContainerSpec, GuestSpec, ImageSpec
from provisioner.errors import ProviderError
from provisioner.providers.base import CallKind
from provisioner.providers.kit.images import declared_images, image_problems
from provisioner.providers.proxmox import ContainerOptions, GuestOptions
from provisioner.providers.proxmox.clashes import mac_clashes, vmid_clashes
from provisioner.providers.proxmox.context import Context
from provisioner.providers.proxmox.facts import Facts
from provisioner.providers.proxmox.image_names import FORMATS, content_of
from provisioner.providers.proxmox.unsupported import hint_for, unsupported

_STORAGE_ID = re.compile(r"^[a-z][a-z0-9\-_.]*[a-z0-9]$")
MIB = 1024**2
_STORAGE_HINT = ("name one of those storages or a pools: entry of the stack (a volume that "
                 "names none goes on the provider block's storage:)")
_VOLUME_HINTS = {
    "vztmpl": "download it first (pveam download STORAGE TEMPLATE), or name one of those",
    "snippets": "copy the file to the storage's snippets/ directory on the node (local: "
                "/var/lib/vz/snippets/), or name one of those",
}


class Checker:
    """Collects the problems of one plan's resources."""

    def __init__(self, ctx: Context, resources: Sequence[Resource]) -> None:
        self.ctx = ctx
        self.resources = resources
        self.facts: Facts = ctx.cluster.known_facts()
        self.problems: list[Problem] = []
        self.declared_pools = {ctx.owner.storage_id(r.name) for r in resources
                               if r.kind is Kind.POOL}
        self.bridges = cache(self._bridges)
        self.vnets = cache(self._vnets)
        self.content = cache(self._content)
        self.resource_pools = cache(self._resource_pools)

    def run(self) -> list[Problem]:
        for node in self.ctx.settings.nodes:
            if node not in self.facts.nodes:
                self.problems.append(Problem(
                    f"'{node}' is not a node of the cluster ({self._nodes()})",
                    path=f"providers.{self.ctx.owner.provider}.nodes"))
        for resource in self.resources:
            if resource.kind is Kind.POOL:
                self._pool(resource)
            elif resource.kind in (Kind.GUEST, Kind.CONTAINER):
                self._guest(resource)
            elif resource.kind is Kind.IMAGE:
                self._image(resource)
        self.problems += image_problems(self.resources, FORMATS, "proxmox")
        self._iso_disks()
        return [*self.problems, *vmid_clashes(self.ctx, self.resources),
                *mac_clashes(self.ctx, self.resources)]

    def _problem(self, resource: Resource, text: str) -> None:
        self.problems.append(Problem(text, resource.address))

    def _field(self, resource: Resource, path: str, text: str, hint: str = "") -> None:
        """A problem of the declared field ``path``; ``text`` reads after it."""
        self.problems.append(Problem(text, resource.address, path, hint=hint))

    def _nodes(self) -> str:
        return ", ".join(sorted(self.facts.nodes)) or "none"

    # -- kinds ----------------------------------------------------------------------------

    def _pool(self, resource: Resource) -> None:
        sid = self.ctx.owner.storage_id(resource.name)
        if not _STORAGE_ID.match(sid):
            self._problem(resource, f"'{sid}' is not a valid Proxmox storage id (it must start "
                                    "with a letter): rename the stack or the pool")

    def _image(self, resource: Resource) -> None:
        """The storage an image goes to exists and holds its content (import: PVE 8.2+)."""
        spec = ImageSpec.of(resource.spec)
        if spec.format not in FORMATS:
            return  # image_problems says so
        sid = self.ctx.names.storage_id(resource, "pool", spec.pool)
        self._storage(resource, None, "pool", sid, content_of(spec.format), None)
        url = str(resource.settings.get("url") or "")
        if spec.options.get("download") and not url.startswith(("http://", "https://")):
            self._field(resource, "options.download", f"needs an http(s) URL for the node to "
                        f"fetch; {url} is on this machine", "leave options.download out: "
                        "the file is then uploaded from here")

    def _iso_disks(self) -> None:
        """A disk is a copy of a disk image (import-from): an ISO is not one."""
        isos = {r.address for r in self.resources
                if r.kind is Kind.IMAGE and r.spec.get("format") == "iso"}
        for resource in self.resources:
            for path, address in declared_images(resource).items():
                if address in isos:
                    self._field(resource, path, f"names {address}, an ISO: a disk here is "
                                "a copy of a disk image (qcow2, raw, vmdk)",
                                "attach the ISO as a CD-ROM in the Proxmox UI, or name a "
                                "disk image")

    def _guest(self, resource: Resource) -> None:
        for path, summary in unsupported(resource):
            self._field(resource, path, summary, hint_for(path))
        node = self._node(resource)
        container = resource.kind is Kind.CONTAINER
        content = "rootdir" if container else "images"
        for path, pool, fmt in _volumes(resource, container):
            sid = self.ctx.names.storage_id(resource, path, pool)
            self._storage(resource, node, path, sid, content, fmt)
        if container:
            box = ContainerSpec.of(resource.spec)
            networks, cpus, memory = box.networks, box.cpus, box.memory
            pool = box.options_as(ContainerOptions).pool
            self._volume(resource, node, box.template, "vztmpl", "template")
        else:
            guest = GuestSpec.of(resource.spec)
            options = guest.options_as(GuestOptions)
            networks, memory, pool = guest.networks, guest.memory, options.pool
            cpus = guest.cpus * (options.sockets or 1)
            if guest.clone:
                self._template(resource, node, guest, options)
            custom = options.cloud_init.custom if options.cloud_init else None
            for key, volume in sorted((custom.model_dump() if custom else {}).items()):
                if volume:
                    self._volume(resource, node, str(volume), "snippets",
                                 f"options.cloud_init.custom.{key}")
        for index, nic in enumerate(networks):
            key = "bridge" if nic.bridge else "host_network"
            bridge = nic.bridge or nic.host_network
            if bridge and node:
                self._bridge(resource, node, f"networks[{index}].{key}", bridge)
        pools = self.resource_pools() if pool else None
        if pools is not None and pool not in pools:
            self._field(resource, "options.pool", f"'{pool}' does not exist "
                        f"(pools: {', '.join(sorted(pools)) or 'none'})",
                        f"create it (pveum pool add {pool}), or name one of those")
        if node and node in self.facts.nodes and 0 < self.facts.nodes[node].cpus < cpus:
            self._field(resource, "cpus", f"asks for {cpus} vCPUs, but node {node} has "
                        f"{self.facts.nodes[node].cpus} CPUs",
                        "lower cpus (or options.sockets), or put it on a larger node")
        if memory % MIB:
            self._field(resource, "memory", "must be a whole number of MiB",
                        "round it to MiB, such as 1536MiB")

    def _node(self, resource: Resource) -> str | None:
        declared = GuestSpec.of(resource.spec).node
        if declared == "auto":
            return None
        if declared is None:
            try:
                return self.ctx.nodes.default(self.facts, str(resource.address))
            except ProviderError as exc:
                self._field(resource, "node", "is not set, and the cluster has several nodes "
                            f"({self._nodes()})", exc.hint or "")
                return None
        info = self.facts.nodes.get(str(declared))
        if info is None:
            self._field(resource, "node", f"'{declared}' does not exist (nodes: {self._nodes()})",
                        "name one of those nodes, or node: auto to place it by free memory")
            return None
        if not info.online:
            self._field(resource, "node", f"'{declared}' is offline",
                        "bring the node back, or name another node (a replacement)")
            return None  # nothing on it can be listed
        return str(declared)

    # -- what the cluster has -------------------------------------------------------------

    def _storage(self, resource: Resource, node: str | None, path: str, sid: str,
                 content: str, fmt: str | None) -> None:
        """``path``: the volume's ``pool:`` (shown at the volume when it names none)."""
        if sid in self.declared_pools:
            return
        info = self.facts.storages.get(sid)
        if info is None:
            fitting = sorted(s for s, i in self.facts.storages.items() if content in i.content
                             and (node is None or node in i.nodes))
            where = f" on {node}" if node else ""
            self._field(resource, path, f"'{sid}' is not a storage of the cluster (storages"
                        f"{where} for {content}: {', '.join(fitting) or 'none'})", _STORAGE_HINT)
        elif node is not None and info.nodes and node not in info.nodes:
            self._field(resource, path, f"'{sid}' is not available on node {node} "
                        f"(it is on {', '.join(sorted(info.nodes))})", _STORAGE_HINT)
        elif content not in info.content:
            self._field(resource, path, f"'{sid}' does not hold {content} (it holds "
                        f"{', '.join(sorted(info.content)) or 'nothing'})", _STORAGE_HINT)
        elif fmt == "qcow2" and not info.files:
            self._field(resource, path.replace(".pool", ".format"), "qcow2 needs a file "
                        f"storage; '{sid}' ({info.type}) keeps raw volumes only",
                        "use format: raw, or a directory storage (pool:)")

    def _bridge(self, resource: Resource, node: str, path: str, bridge: str) -> None:
        """A Linux or OVS bridge of the node, or an SDN VNet (listed only when needed)."""
        known = self.bridges(node)
        if known is None or bridge in known or bridge in self.vnets():
            return
        bridges = ", ".join(sorted(known)) or "none"
        vnets = f"; SDN VNets: {', '.join(sorted(self.vnets()))}" if self.vnets() else ""
        self._field(resource, path, f"'{bridge}' does not exist on node {node} (bridges: "
                    f"{bridges}{vnets})", "name one of those, or make the bridge on the node "
                    "(or the VNet in SDN) first")

    def _template(self, resource: Resource, node: str | None, guest: GuestSpec,
                  options: GuestOptions) -> None:
        name = guest.clone or ""
        found = self.facts.templates(name)
        if not found:
            self._field(resource, "clone", f"'{name}' is not a template of the cluster (templates: "
                        f"{', '.join(self.facts.template_names()) or 'none'})",
                        "name one of those, or make the template first (qm template VMID)")
        if not options.full_clone and any(disk.pool for disk in guest.disks):
            self._field(resource, "options.full_clone", "false makes a linked clone, which "
                        "stays on the template's storage", "drop pool: from its disks, or "
                        "make a full clone")

    def _volume(self, resource: Resource, node: str | None, volume: str, content: str,
                path: str) -> None:
        sid, _, _ = volume.partition(":")
        info = self.facts.storages.get(sid)
        if info is None or content not in info.content:
            fitting = sorted(s for s, i in self.facts.storages.items() if content in i.content)
            self._field(resource, path, f"'{volume}': storage '{sid}' does not hold {content} "
                        f"(storages that do: {', '.join(fitting) or 'none'})",
                        _VOLUME_HINTS[content])
            return
        on = node or next((n for n in sorted(info.nodes) if self.facts.nodes.get(n)
                           and self.facts.nodes[n].online), None)
        if on is None:
            return
        present = self.content(on, sid, content)
        if present is not None and volume not in present:
            self._field(resource, path, f"'{volume}' is not on storage {sid} of node {on} "
                        f"(there: {', '.join(sorted(present)) or 'none'})",
                        _VOLUME_HINTS[content])

    # -- lazy listings --------------------------------------------------------------------

    def _bridges(self, node: str) -> frozenset[str] | None:
        interfaces = self._list(f"bridges of {node}", f"nodes/{node}/network")
        return None if interfaces is None else frozenset(
            str(i.get("iface")) for i in interfaces if i.get("type") in ("bridge", "OVSBridge"))

    def _vnets(self) -> frozenset[str]:
        vnets = self._list("SDN VNets", "cluster/sdn/vnets") or []
        return frozenset(str(v.get("vnet")) for v in vnets if v.get("vnet"))

    def _content(self, node: str, sid: str, content: str) -> frozenset[str] | None:
        items = self._list(f"{content} on {sid}", f"nodes/{node}/storage/{sid}/content",
                           content=content)
        return None if items is None else frozenset(str(item.get("volid")) for item in items)

    def _resource_pools(self) -> frozenset[str] | None:
        pools = self._list("resource pools", "pools")
        return None if pools is None else frozenset(str(p.get("poolid")) for p in pools)

    def _list(self, what: str, path: str, **params: Any) -> list[Any] | None:
        """A listing for a check, or None when it is refused (a token without the
        privilege to list it): the check is then skipped, never failed."""
        try:
            return list(self.ctx.client.get(CallKind.LIST, what, path, **params) or [])
        except ProviderError:
            return None


def _volumes(resource: Resource,
             container: bool) -> list[tuple[str, str | None, str | None]]:
    """(spec path, pool, format) of each volume the resource makes."""
    if container:
        box = ContainerSpec.of(resource.spec)
        found: list[tuple[str, str | None, str | None]] = [("rootfs.pool", box.rootfs.pool, None)]
        found += [(f"mounts[{i}].pool", m.pool, None) for i, m in enumerate(box.mounts)]
        return found
    return [(f"disks[{i}].pool", d.pool, d.format)
            for i, d in enumerate(GuestSpec.of(resource.spec).disks) if not d.volume]

