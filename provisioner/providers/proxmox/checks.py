"""Plan-time checks: what the stack names outside itself exists, and fits, on the cluster.

Nodes, storages (and that they take disks, container volumes, snippets, on
that node), bridges, templates, OS templates, resource pools, fields this
provider cannot honour (memory per node is the core admission check), and
fixed VMIDs and MACs someone else holds (``clashes``). Each problem names the
resource and what exists instead; one that a declared field causes is a
``FieldProblem``, shown at that field's line with the next step. Reads the last
listing; a few extra listings are made only when the stack names something to
look up (a node's bridges, a storage's templates, the resource pools): LIST
calls, never one per guest.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from functools import cache
from typing import Any

from provisioner.core.address import Kind
from provisioner.core.resources import Resource
from provisioner.errors import ProviderError
from provisioner.providers.base import CallKind, FieldProblem
from provisioner.providers.proxmox.clashes import mac_clashes, vmid_clashes
from provisioner.providers.proxmox.context import Context
from provisioner.providers.proxmox.facts import Facts
from provisioner.providers.proxmox.unsupported import unsupported

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
        self.problems: list[str | FieldProblem] = []
        self.declared_pools = {ctx.owner.storage_id(r.name) for r in resources
                               if r.kind is Kind.POOL}
        self.bridges = cache(self._bridges)
        self.vnets = cache(self._vnets)
        self.content = cache(self._content)
        self.resource_pools = cache(self._resource_pools)

    def run(self) -> list[str | FieldProblem]:
        for node in self.ctx.settings.nodes:
            if node not in self.facts.nodes:
                self.problems.append(f"provider {self.ctx.owner.provider}: nodes lists '{node}', "
                                     f"which is not a node of the cluster ({self._nodes()})")
        for resource in self.resources:
            if resource.kind is Kind.POOL:
                self._pool(resource)
            elif resource.kind in (Kind.GUEST, Kind.CONTAINER):
                self._guest(resource)
        return [*self.problems, *vmid_clashes(self.ctx, self.resources),
                *mac_clashes(self.ctx, self.resources)]

    def _problem(self, resource: Resource, text: str) -> None:
        self.problems.append(f"{resource.address}: {text}")

    def _field(self, resource: Resource, path: str, text: str, hint: str) -> None:
        """A problem of the declared field ``path``; ``text`` reads after it."""
        self.problems.append(FieldProblem(resource.address, path, text, hint))

    def _nodes(self) -> str:
        return ", ".join(sorted(self.facts.nodes)) or "none"

    # -- kinds ----------------------------------------------------------------------------

    def _pool(self, resource: Resource) -> None:
        sid = self.ctx.owner.storage_id(resource.name)
        if not _STORAGE_ID.match(sid):
            self._problem(resource, f"'{sid}' is not a valid Proxmox storage id (it must start "
                                    "with a letter): rename the stack or the pool")

    def _guest(self, resource: Resource) -> None:
        for text in unsupported(resource):
            self._problem(resource, text)
        node = self._node(resource)
        spec = resource.spec
        options = spec.get("options") or {}
        container = resource.kind is Kind.CONTAINER
        content = "rootdir" if container else "images"
        for path, pool, fmt in _volumes(spec, container):
            sid = self.ctx.names.storage_id(resource, path, pool)
            self._storage(resource, node, path, sid, content, fmt)
        for index, nic in enumerate(spec.get("networks") or []):
            key = "bridge" if (nic or {}).get("bridge") else "host_network"
            bridge = (nic or {}).get(key)
            if bridge and node:
                self._bridge(resource, node, f"networks[{index}].{key}", str(bridge))
        if container:
            self._volume(resource, node, str(spec["template"]), "vztmpl", "template")
        elif spec.get("clone"):
            self._template(resource, node, str(spec["clone"]), options)
        custom = ((options.get("cloud_init") or {}).get("custom") or {})
        for key, volume in sorted(custom.items()):
            if volume:
                self._volume(resource, node, str(volume), "snippets",
                             f"options.cloud_init.custom.{key}")
        pools = self.resource_pools() if options.get("pool") else None
        if pools is not None and options["pool"] not in pools:
            self._field(resource, "options.pool", f"'{options['pool']}' does not exist "
                        f"(pools: {', '.join(sorted(pools)) or 'none'})",
                        f"create it (pveum pool add {options['pool']}), or name one of those")
        cpus = int(spec.get("cpus") or 1) * int(options.get("sockets") or 1)
        if node and node in self.facts.nodes and 0 < self.facts.nodes[node].cpus < cpus:
            self._field(resource, "cpus", f"asks for {cpus} vCPUs, but node {node} has "
                        f"{self.facts.nodes[node].cpus} CPUs",
                        "lower cpus (or options.sockets), or put it on a larger node")
        if int(spec.get("memory") or 0) % MIB:
            self._field(resource, "memory", "must be a whole number of MiB",
                        "round it to MiB, such as 1536MiB")

    def _node(self, resource: Resource) -> str | None:
        declared = resource.spec.get("node")
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

    def _template(self, resource: Resource, node: str | None, name: str,
                  options: Mapping[str, Any]) -> None:
        found = self.facts.templates(name)
        if not found:
            self._field(resource, "clone", f"'{name}' is not a template of the cluster (templates: "
                        f"{', '.join(self.facts.template_names()) or 'none'})",
                        "name one of those, or make the template first (qm template VMID)")
        if options.get("full_clone") is False and any(
                (d or {}).get("pool") for d in resource.spec.get("disks") or []):
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


def _volumes(spec: Mapping[str, Any], container: bool) -> list[tuple[str, str | None, str | None]]:
    """(spec path, pool, format) of each volume the resource makes."""
    if container:
        found: list[tuple[str, str | None, str | None]] = [
            ("rootfs.pool", spec["rootfs"].get("pool"), None)]
        found += [(f"mounts[{i}].pool", m.get("pool"), None)
                  for i, m in enumerate(spec.get("mounts") or []) if m]
        return found
    return [(f"disks[{i}].pool", d.get("pool"), d.get("format"))
            for i, d in enumerate(spec.get("disks") or []) if d and not d.get("volume")]

