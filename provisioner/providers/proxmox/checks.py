"""Plan-time checks: what the stack names outside itself exists, and fits, on the cluster.

Nodes, storages (and that they take disks, container volumes, snippets, on
that node), bridges, templates, OS templates, resource pools, fields this
provider cannot honour (memory per node is the core admission check), and
fixed VMIDs and MACs someone else holds (``clashes``). Each problem names the
resource and what exists instead. Reads the last listing; a few extra listings are
made only when the stack names something to look up (a node's bridges, a
storage's templates, the resource pools): LIST calls, never one per guest.
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


class Checker:
    """Collects the problems of one plan's resources."""

    def __init__(self, ctx: Context, resources: Sequence[Resource]) -> None:
        self.ctx = ctx
        self.resources = resources
        self.facts: Facts = ctx.cluster.known_facts()
        self.problems: list[str] = []
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
            self._storage(resource, node, sid, content, fmt)
        for index, nic in enumerate(spec.get("networks") or []):
            bridge = (nic or {}).get("bridge") or (nic or {}).get("host_network")
            if bridge and node:
                self._bridge(resource, node, index, str(bridge))
        if container:
            self._volume(resource, node, str(spec["template"]), "vztmpl", "template")
        elif spec.get("clone"):
            self._template(resource, node, str(spec["clone"]), options)
        custom = ((options.get("cloud_init") or {}).get("custom") or {})
        for key, volume in sorted(custom.items()):
            if volume:
                self._volume(resource, node, str(volume), "snippets", f"cloud_init.custom.{key}")
        pools = self.resource_pools() if options.get("pool") else None
        if pools is not None and options["pool"] not in pools:
            self._problem(resource, f"resource pool '{options['pool']}' does not exist "
                                    f"(pools: {', '.join(sorted(pools)) or 'none'})")
        cpus = int(spec.get("cpus") or 1) * int(options.get("sockets") or 1)
        if node and node in self.facts.nodes and 0 < self.facts.nodes[node].cpus < cpus:
            self._problem(resource, f"{cpus} vCPUs, but node {node} has "
                                    f"{self.facts.nodes[node].cpus} CPUs")
        if int(spec.get("memory") or 0) % MIB:
            self._problem(resource, "memory must be a whole number of MiB")

    def _node(self, resource: Resource) -> str | None:
        declared = resource.spec.get("node")
        if declared == "auto":
            return None
        if declared is None:
            try:
                return self.ctx.nodes.default(self.facts, str(resource.address))
            except ProviderError as exc:
                self.problems.append(f"{exc.message} ({exc.hint})")
                return None
        info = self.facts.nodes.get(str(declared))
        if info is None:
            self._problem(resource, f"node '{declared}' does not exist (nodes: {self._nodes()})")
            return None
        if not info.online:
            self._problem(resource, f"node '{declared}' is offline")
            return None  # nothing on it can be listed
        return str(declared)

    # -- what the cluster has -------------------------------------------------------------

    def _storage(self, resource: Resource, node: str | None, sid: str, content: str,
                 fmt: str | None) -> None:
        if sid in self.declared_pools:
            return
        info = self.facts.storages.get(sid)
        if info is None:
            fitting = sorted(s for s, i in self.facts.storages.items() if content in i.content
                             and (node is None or node in i.nodes))
            where = f" on {node}" if node else ""
            self._problem(resource, f"storage '{sid}' does not exist (storages{where} for "
                                    f"{content}: {', '.join(fitting) or 'none'})")
        elif node is not None and info.nodes and node not in info.nodes:
            self._problem(resource, f"storage '{sid}' is not available on node {node} (it is "
                                    f"on {', '.join(sorted(info.nodes))})")
        elif content not in info.content:
            self._problem(resource, f"storage '{sid}' does not hold {content} (it holds "
                                    f"{', '.join(sorted(info.content)) or 'nothing'})")
        elif fmt == "qcow2" and not info.files:
            self._problem(resource, f"storage '{sid}' ({info.type}) keeps raw volumes only; "
                                    "use format: raw or a directory storage")

    def _bridge(self, resource: Resource, node: str, index: int, bridge: str) -> None:
        """A Linux or OVS bridge of the node, or an SDN VNet (listed only when needed)."""
        known = self.bridges(node)
        if known is None or bridge in known or bridge in self.vnets():
            return
        bridges = ", ".join(sorted(known)) or "none"
        vnets = f"; SDN VNets: {', '.join(sorted(self.vnets()))}" if self.vnets() else ""
        self._problem(resource, f"networks[{index}]: bridge '{bridge}' does not exist on node "
                                f"{node} (bridges: {bridges}{vnets})")

    def _template(self, resource: Resource, node: str | None, name: str,
                  options: Mapping[str, Any]) -> None:
        found = self.facts.templates(name)
        if not found:
            self._problem(resource, f"template '{name}' does not exist (templates: "
                                    f"{', '.join(self.facts.template_names()) or 'none'})")
        if options.get("full_clone") is False and any(
                (d or {}).get("pool") for d in resource.spec.get("disks") or []):
            self._problem(resource, "a linked clone (full_clone: false) stays on the template's "
                                    "storage: drop pool: from its disks")

    def _volume(self, resource: Resource, node: str | None, volume: str, content: str,
                field: str) -> None:
        sid, _, _ = volume.partition(":")
        info = self.facts.storages.get(sid)
        if info is None or content not in info.content:
            fitting = sorted(s for s, i in self.facts.storages.items() if content in i.content)
            self._problem(resource, f"{field}: storage '{sid}' does not hold {content} "
                                    f"(storages that do: {', '.join(fitting) or 'none'})")
            return
        on = node or next((n for n in sorted(info.nodes) if self.facts.nodes.get(n)
                           and self.facts.nodes[n].online), None)
        if on is None:
            return
        present = self.content(on, sid, content)
        if present is not None and volume not in present:
            self._problem(resource, f"{field}: '{volume}' is not on storage {sid} of node {on} "
                                    f"(there: {', '.join(sorted(present)) or 'none'})")

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

