"""Validated declarations → concrete Resources with dependency edges.

``count: N`` expands a guest into ``name-0 .. name-(N-1)`` (``for_each`` was
expanded before validation, repetition.py: its instances arrive as entries, and
``groups`` gathers them under the declared name); references
(``networks: [{network: lab}]``, ``disks: [{volume: data}]``, ``depends_on``)
become edges and must name declared resources; cloud-init files are read into
Blobs; a dependency cycle is a problem naming the cycle.
"""

from __future__ import annotations

import graphlib
import json
from collections.abc import Collection, Iterator, Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from provisioner.core.address import Address, Kind, image_instance
from provisioner.core.file_access import (
    CLOUD_INIT_LIMIT,
    FileRefused,
    allowed_directories,
    read_named,
)
from provisioner.core.resources import Blob, Effect, Protection, Resource
from provisioner.errors import Position, StackProblem
from provisioner.stack.declarations import Declarations
from provisioner.stack.expressions import ExpressionError
from provisioner.stack.images import images_used
from provisioner.stack.interpolate import did_you_mean
from provisioner.stack.model import (
    CLOUD_INIT_FILES,
    NOT_IN_SPEC,
    SETTINGS,
    Container,
    Guest,
    Image,
    ResourceBase,
    Volume,
)
from provisioner.stack.source import PathKey, SourceMap, format_path, parse_path
from provisioner.stack.templates import count_lookup, deferred_paths, evaluate_deferred, unescaped

_ON_CHANGE_EFFECT: dict[str, Effect | None] = {
    "reboot": Effect.RESTART,
    "replace": Effect.REPLACE,
    "ignore": None,
}


@dataclass
class Resolution:
    resources: list[Resource]
    problems: list[StackProblem]
    groups: dict[Address, list[Address]]
    """Declared name (``guests.web``) → its instances (``guests.web-0`` ...)."""


class Resolver:
    """Builds Resources; collects every problem instead of stopping at the first."""

    def __init__(self, declarations: Declarations, source: SourceMap, root: Path,
                 placement_groups: Mapping[str, Sequence[str]] | None = None,
                 image_blocks: Collection[str] = (), directories: Sequence[Path] = (),
                 anchors: Mapping[tuple[Kind, str], Position] | None = None,
                 kept_escaped: bool = False) -> None:
        """``placement_groups``: each group's members; ``image_blocks``: the provider
        blocks that import images (a guest elsewhere naming a declared image is refused
        by its own provider); ``directories``: where named files may be (default: the
        stack's; with modules, theirs too); ``anchors``: where the stack uses the module
        each module resource comes from (the order of the plan); ``kept_escaped``: some
        literal ``$${...}`` was kept escaped while instances are made (interpolate.py)."""
        self.directories = allowed_directories(*(directories or (root,)))
        self.anchors: Mapping[tuple[Kind, str], Position] = anchors or {}
        self.kept_escaped = kept_escaped
        self.placement_groups = placement_groups or {}
        self.image_blocks = image_blocks
        self.declarations = declarations
        self.source = source
        self.root = root
        self.problems: list[StackProblem] = []
        self.groups: dict[Address, list[Address]] = {}
        self.instances: dict[Address, Address] = {}  # instance → its group
        self.declared_as = declarations.declared_as()
        self.files: dict[str, Blob | None] = {}  # cloud-init files read once
        self.failed_templates: set[PathKey] = set()  # reported for one instance, not all

    def run(self) -> Resolution:
        self._index_instances()
        resources = [
            resource
            for kind, name, entry in sorted(self.declarations.groups(), key=self._declared_at)
            for resource in self._expand(kind, name, entry)
        ]
        resources = [replace(r, order=index) for index, r in enumerate(resources)]
        self._check_cycles(resources)
        return Resolution(resources, self.problems, self.groups)

    def _declared_at(self, item: tuple[Kind, str, ResourceBase]) -> tuple[Any, ...]:
        """Where it is declared (a module's resources: where the stack uses the module);
        the instances of a for_each (one position) stay in the order of their keys, as
        the sort is stable."""
        kind, name, _ = item
        own = Address(kind, name)
        declared = self.declared_as.get(own, (own, ""))[0].name
        position = self.source.key_at((kind.value, declared)) or Position("~", 0, 0)
        return (self.anchors.get((kind, declared), position), position, kind.rank, declared)

    def _index_instances(self) -> None:
        for kind, name, _ in self.declarations.groups():
            own = Address(kind, name)
            group = self.declared_as.get(own, (own, ""))[0]
            members = [Address(kind, n) for n in self.declarations.instance_names(kind, name)]
            self.groups.setdefault(group, []).extend(members)
            for member in members:
                other = self.instances.get(member)
                if other is not None and other != group:
                    counted = group if member != group else other
                    self.problems.append(StackProblem(
                        self.source.key_at((kind.value, name)), str(group),
                        f"{member} is declared and is also an instance of {counted} "
                        f"(count makes {counted.name}-0, {counted.name}-1, ...)",
                        "rename one of them"))
                self.instances[member] = group
        for group in self.declarations.instances:
            self.groups.setdefault(group, [])  # for_each over nothing: no instances

    def _expand(self, kind: Kind, name: str, entry: ResourceBase) -> Iterator[Resource]:
        path: PathKey = (kind.value, name)
        deps = self._dependencies(kind, name, entry)
        references = self._references(entry)
        self._check_same_provider(kind, name, entry, references)
        spec = entry.model_dump(exclude=set(NOT_IN_SPEC | SETTINGS))
        settings = entry.model_dump(include=set(SETTINGS))
        overrides = self._effect_overrides(entry)
        if isinstance(entry, Guest) and (entry.after_create or entry.after_update):
            spec["hooks"] = hook_digests(entry)  # a changed hook reruns, in place
            overrides["hooks"] = Effect.IN_PLACE
            settings["stack_dir"] = str(self.root)
        spec["options"] = spec.pop("options")  # provider settings last, as in the docs
        if self.kept_escaped:
            settings = unescaped(settings)
        position = self.source.key_at(path)
        counted = getattr(entry, "count", None) is not None
        key = self.declared_as.get(Address(kind, name), (None, None))[1]
        if not counted:
            for where in deferred_paths(spec, ("count",)):
                self._problem((*path, *where), "${count.index} is known only in a resource "
                              "with count", "add count: N, or write the value itself")
        rules = entry.lifecycle
        protection = Protection(rules.prevent_destroy, tuple(rules.ignore_changes),
                                _create_first(entry))
        instances = self.declarations.instance_names(kind, name)
        providers = (entry.providers or []) if isinstance(entry, Image) else \
            [entry.provider or ""] * len(instances)
        templates = deferred_paths(spec) if counted else []
        for index, (instance, provider) in enumerate(zip(instances, providers, strict=True)):
            instance_spec = self._instance_spec(spec, index, path, templates) if counted \
                else dict(spec)
            if self.kept_escaped:
                instance_spec = unescaped(instance_spec)
            if isinstance(entry, Guest):
                instance_spec["cloud_init"] = self._cloud_init(instance_spec["cloud_init"], path)
            yield Resource(
                address=Address(kind, instance, index=index if counted else key),
                provider=provider,
                spec=instance_spec,
                deps=deps,
                lifecycle=protection,
                position=position,
                effect_overrides=overrides,
                references=references,
                settings=settings,
            )

    def _cloud_init(
        self, cloud_init: Mapping[str, Any] | None, path: PathKey
    ) -> dict[str, Any] | None:
        """cloud-init values as Blobs: inline text, or the content of the file named."""
        if cloud_init is None:
            return None
        blobs: dict[str, Any] = {}
        for key in CLOUD_INIT_FILES:
            value = cloud_init[key]
            blobs[key] = None if value is None else self._blob(value, (*path, "cloud_init", key))
        return blobs

    def _blob(self, value: str, path: PathKey) -> Blob | None:
        if value.lstrip().startswith("#"):
            return Blob.of("(inline)", value.encode())
        if value not in self.files:
            try:
                self.files[value] = Blob.of(value, read_named(
                    value, self.root, self.directories, CLOUD_INIT_LIMIT,
                    f"cannot read '{value}'"))
            except FileRefused as exc:
                self._problem(path, exc.message,
                              f"{exc.hint}; paths are relative to the stack directory "
                              f"{self.root}; inline content starts with #cloud-config")
                self.files[value] = None
        return self.files[value]

    @staticmethod
    def _effect_overrides(entry: ResourceBase) -> dict[str, Effect | None]:
        if isinstance(entry, Guest) and entry.cloud_init is not None:
            return {"cloud_init": _ON_CHANGE_EFFECT[entry.cloud_init.on_change]}
        return {}

    def _references(self, entry: ResourceBase) -> dict[str, Address]:
        """Spec paths that name a declared resource (checked by ``_dependencies``).

        A ``pool:`` that names a declared pool is a reference; any other pool
        name is one the host already has (the provider checks it at plan time).
        """
        found: dict[str, Address] = _named_pools(entry)
        found |= {f"networks[{i}].network": Address(Kind.NETWORK, nic.network)
                  for i, nic in enumerate(getattr(entry, "networks", [])) if nic.network}
        if isinstance(entry, Guest):
            found |= {format_path(where): Address(Kind.IMAGE,
                                                  image_instance(image, entry.provider))
                      for where, image in images_used(entry)}
        for i, disk in enumerate(getattr(entry, "disks", [])):
            if disk.volume is not None:
                found[f"disks[{i}].volume"] = Address(Kind.VOLUME, disk.volume)
        return {path: address for path, address in found.items()
                if address in self.groups or address in self.declared_as
                or (address.kind is Kind.IMAGE and address in self.instances)}

    def _check_same_provider(self, kind: Kind, name: str, entry: ResourceBase,
                             references: dict[str, Address]) -> None:
        """A network, volume or pool lives on one provider block (one hypervisor host,
        one cluster): a resource can only use those of its own block."""
        for field_path, address in references.items():
            target = self.declarations.entries.get(address.kind, {}).get(address.name)
            if target is None or target.provider == entry.provider:
                continue
            self._problem(
                (kind.value, name, *parse_path(field_path)),
                f"{address.kind.singular} '{address.name}' is on provider '{target.provider}', "
                f"this {kind.singular} on '{entry.provider}': a {kind.singular} can use only "
                f"the {address.kind.value} of its own provider",
                f"declare a {address.kind.singular} on provider '{entry.provider}' for it, or "
                f"put the {kind.singular} on '{target.provider}'")

    def _dependencies(self, kind: Kind, name: str, entry: ResourceBase) -> tuple[Address, ...]:
        base: PathKey = (kind.value, name)
        found: list[Address] = []
        for field_path, pool in _named_pools(entry).items():
            if not self._unusable(pool, (*base, *parse_path(field_path))):
                found += self.groups.get(pool, [pool] if pool in self.declared_as else [])
        for index, nic in enumerate(getattr(entry, "networks", [])):
            if nic.network is not None:
                found += self._reference(Kind.NETWORK, nic.network,
                                         (*base, "networks", index, "network"))
        for index, disk in enumerate(getattr(entry, "disks", [])):
            if disk.volume is not None:
                found += self._reference(Kind.VOLUME, disk.volume,
                                         (*base, "disks", index, "volume"))
        if isinstance(entry, Guest):
            for where, image in images_used(entry):
                found += self._image(image, entry.provider, (*base, *where))
        for index, text in enumerate(entry.depends_on):
            found += self._depends_on(text, (*base, "depends_on", index))
        placement = getattr(entry, "placement", None)
        for index, text in enumerate(placement.spread_across if placement else []):
            self._depends_on(text, (*base, "placement", "spread_across", index))  # names only
        own = Address(kind, name)
        if any(self.instances.get(address) == own for address in found):
            self._problem((*base, "depends_on"), f"dependency cycle: {own} depends on itself",
                          "remove the reference to itself")
        return tuple(dict.fromkeys(a for a in found if self.instances.get(a) != own))

    def _reference(self, kind: Kind, name: str, path: PathKey) -> list[Address]:
        group = Address(kind, name)
        if self._unusable(group, path):
            return []
        if group in self.groups:
            return self.groups[group]
        if group in self.declared_as:
            return [group]  # one instance of a for_each
        if self.declarations.is_invalid(group):
            return []
        names = [a.name for a in self.groups if a.kind is kind]
        self._problem(path, f"unknown {kind.singular} '{name}'",
                      did_you_mean(name, names) or f"no {kind.value} are declared")
        return []

    def _image(self, image: str, provider: str, path: PathKey) -> list[Address]:
        """The instances of a declared image a guest on ``provider`` waits for: the one
        on its block, or (a guest a placement group places) those on the group's
        members; an image the stack does not declare is one the host has (its
        provider checks it)."""
        if self._unusable(Address(Kind.IMAGE, image), path):
            return []
        named = Address(Kind.IMAGE, image)
        instances = self.groups.get(named)
        if named in self.declared_as:  # one instance of a for_each: on each of its blocks
            instances = [Address(Kind.IMAGE, instance) for instance
                         in self.declarations.instance_names(Kind.IMAGE, image)]
        if instances is None:
            return []
        members = self.placement_groups.get(provider, [provider])
        found = [a for a in instances if a.name.partition("@")[2] in members]
        if not found and provider in self.image_blocks:
            where = ", ".join(a.name.partition("@")[2] for a in instances) or "none"
            self._problem(path, f"image '{image}' is not imported into provider "
                          f"'{provider}' (it is imported into: {where})",
                          f"add {provider} to images.{image}.providers")
        return found

    def _depends_on(self, text: str, path: PathKey) -> list[Address]:
        try:
            address = Address.parse(text)
        except ValueError as exc:
            self._problem(path, str(exc), "write KIND.NAME, such as guests.db")
            return []
        if address in self.declarations.disabled:
            return []  # ordering against nothing
        if address in self.groups:
            return self.groups[address]
        if address in self.instances:
            return [address]
        if self.declarations.is_invalid(address):
            return []
        valid = [str(a) for a in self.groups]
        self._problem(path, f"unknown resource '{text}'", did_you_mean(text, valid))
        return []

    def _unusable(self, address: Address, path: PathKey) -> bool:
        """A reference to one object (a NIC's network, a disk's volume, a pool, an
        image) that names a disabled declaration or one with for_each: reported."""
        if address in self.declarations.disabled:
            where = self.source.value_at(self.declarations.disabled[address])
            self._problem(path, f"{address.kind.singular} '{address.name}' is not in the "
                          f"stack: it has enabled: false (at {where})",
                          "enable it, or leave this reference out while it is disabled")
            return True
        keys = self.declarations.instances.get(address)
        if keys is None:
            return False
        names = ", ".join(keys.values())
        self._problem(path, f"{address.kind.singular} '{address.name}' has for_each: name "
                      f"one of its instances ({names or 'it has none'})",
                      f"such as {next(iter(keys.values()))}" if keys else
                      "give its for_each a key, or name another")
        return True

    def _check_cycles(self, resources: list[Resource]) -> None:
        """graphlib (standard library) tells whether there is a cycle; networkx, which
        names each one, is imported only then: importing it was a quarter of the
        start-up time of ``provisioner validate``."""
        try:
            graphlib.TopologicalSorter({r.address: r.deps for r in resources}).prepare()
            return
        except graphlib.CycleError:
            pass
        import networkx as nx

        graph = nx.DiGraph()
        for resource in resources:
            graph.add_node(resource.address)
            graph.add_edges_from((resource.address, dep) for dep in resource.deps)
        reported: set[Address] = set()
        for component in nx.strongly_connected_components(graph):
            if len(component) < 2 or component & reported:
                continue
            reported |= component
            cycle = nx.find_cycle(graph.subgraph(component))
            members = [edge[0] for edge in cycle]
            first = min(members, key=lambda a: (a.kind.rank, a.name))
            start = members.index(first)  # the text starts where the problem is reported
            members = [*members[start:], *members[:start], first]
            group = self.instances.get(first, first)
            self._problem((group.kind.value, group.name, "depends_on"),
                          "dependency cycle: " + " -> ".join(str(a) for a in members),
                          "remove one of these references; creation needs an order")

    def _instance_spec(self, spec: dict[str, Any], index: int, path: PathKey,
                       templates: list[PathKey]) -> dict[str, Any]:
        """The spec of instance ``index``: its ``${count.index}`` templates evaluated."""

        def report(where: PathKey, error: ExpressionError) -> None:
            if (*path, *where) in self.failed_templates:
                return
            self.failed_templates.add((*path, *where))
            self._problem((*path, *where), f"with ${{count.index}} = {index}: {error.message}",
                          error.hint)

        return dict(evaluate_deferred(spec, count_lookup(index), report, templates))

    def _problem(self, path: PathKey, message: str, hint: str = "") -> None:
        self.problems.append(StackProblem(self.source.value_at(path), format_path(path),
                                          message, hint))


def _named_pools(entry: ResourceBase) -> dict[str, Address]:
    """Every ``pool:`` of a resource (declared by the stack or not), by spec path."""
    found: dict[str, Address] = {}
    if isinstance(entry, Volume) and entry.pool is not None:
        found["pool"] = Address(Kind.POOL, entry.pool)
    if isinstance(entry, Container):
        if entry.rootfs.pool is not None:
            found["rootfs.pool"] = Address(Kind.POOL, entry.rootfs.pool)
        found |= {f"mounts[{i}].pool": Address(Kind.POOL, mount.pool)
                  for i, mount in enumerate(entry.mounts) if mount.pool is not None}
    found |= {f"disks[{i}].pool": Address(Kind.POOL, disk.pool)
              for i, disk in enumerate(getattr(entry, "disks", [])) if disk.pool is not None}
    return found


def _create_first(entry: ResourceBase) -> bool:
    """Whether a replacement makes the new object before deleting the old one: as the
    lifecycle says; for an image, unless it says otherwise (the new image is fetched
    and verified before the guests made from the old one are touched)."""
    rules = entry.lifecycle
    if isinstance(entry, Image) and "create_before_destroy" not in rules.model_fields_set:
        return True
    return rules.create_before_destroy


def hook_digests(guest: Guest) -> dict[str, Blob | None]:
    """A guest's hooks as the spec holds them: one blob per list (compared by digest,
    shown by name, never stored as text), None for an empty one."""
    found: dict[str, Blob | None] = {}
    for key in ("after_create", "after_update"):
        hooks = [hook.model_dump(exclude_none=True) for hook in getattr(guest, key)]
        found[key] = Blob.of(key, json.dumps(hooks, sort_keys=True).encode()) if hooks \
            else None
    return found

