"""Names inside a module instance, and what they become in the stack.

A module's resources join the stack under *flat* names, the module instance's
prefix before their own (``k8s-`` + ``worker`` = ``k8s-worker``): that is their
name on the hypervisor, so one module used twice on one host never collides,
and the name the rest of the loader (references, counts, source positions)
works with. Their addresses keep the module path (``module.k8s.guests.worker-0``).

``prefix_references`` rewrites, in a module's own (not yet interpolated) data,
every literal name of another resource of the module to its flat name; a value
from a ``${...}`` expression is left alone: it comes from an input, where the
caller's flat names were already given (``${networks.lab.name}``).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, TypeGuard

from provisioner.core.address import Address, Kind
from provisioner.core.resources import Resource
from provisioner.errors import StackProblem
from provisioner.stack.source import PathKey, SourceMap, format_path

MUST_BE_DECLARED = (Kind.NETWORK, Kind.VOLUME)
"""Kinds a module must declare to name (a pool or an image may be one the host has)."""
RESOURCE_NAME_RE = re.compile(
    r"\$\{\s*(pools|images|networks|volumes|guests|containers)\.([a-z0-9][a-z0-9-]*)\.name\s*\}")
"""``${networks.lab.name}`` in a module call's inputs: the caller's resource's name."""
_OUTPUT_REFERENCE_RE = re.compile(
    r"(\$\{\s*)(pools|images|networks|volumes|guests|containers)\.([a-z0-9][a-z0-9-]*)")


@dataclass
class ModuleScope:
    """One module instance being expanded: where it is, what it declares."""

    path: tuple[str, ...]
    """Module names from the stack down to this instance (``("k8s",)``)."""
    prefix: str
    """Put before each resource name: ``k8s-``."""
    directory: Path
    declared: dict[Kind, set[str]] = field(default_factory=dict)
    providers: Mapping[str, str] = field(default_factory=dict)
    """The module's provider names → the stack's provider blocks."""

    def flat(self, name: str) -> str:
        return self.prefix + name

    def declares(self, kind: Kind, name: str) -> bool:
        """``name`` is a resource of the module, or an instance of one (``web-0``)."""
        names = self.declared.get(kind, set())
        base, _, index = name.rpartition("-")
        return name in names or (bool(index) and base in names)


def _literal(value: Any) -> TypeGuard[str]:
    """A text written as it is (no ``${...}``: a value from an input is the caller's)."""
    return isinstance(value, str) and "${" not in value


class ReferencePrefixer:
    """Rewrites the literal references of a module's resource entries, in place."""

    def __init__(self, scope: ModuleScope, source: SourceMap) -> None:
        self.scope = scope
        self.source = source
        self.problems: list[StackProblem] = []

    def run(self, data: dict[str, Any]) -> list[StackProblem]:
        for kind in Kind:
            section = data.get(kind.value)
            if not isinstance(section, dict):
                continue
            for name, entry in section.items():
                if isinstance(entry, dict):
                    self._entry(kind, entry, (kind.value, name))
        return self.problems

    def _entry(self, kind: Kind, entry: dict[str, Any], path: PathKey) -> None:
        self._provider(entry, path)
        for where, target_kind, value in _named_references(kind, entry):
            self._name(entry, where, target_kind, value, path)
        for key in ("depends_on",):
            self._addresses(entry.get(key), (*path, key))
        placement = entry.get("placement")
        if isinstance(placement, dict):
            self._addresses(placement.get("spread_across"), (*path, "placement",
                                                              "spread_across"))
        self._files(entry)

    def _provider(self, entry: dict[str, Any], path: PathKey) -> None:
        bound = self.scope.providers
        if _literal(entry.get("provider")):
            entry["provider"] = bound.get(entry["provider"], entry["provider"])
        if isinstance(entry.get("providers"), list):
            entry["providers"] = [bound.get(p, p) if _literal(p) else p
                                  for p in entry["providers"]]

    def _name(self, entry: dict[str, Any], where: PathKey, kind: Kind, value: Any,
              path: PathKey) -> None:
        if not _literal(value):
            return
        if self.scope.declares(kind, value):
            _set_at(entry, where, self.scope.flat(value))
        elif kind in MUST_BE_DECLARED:
            self._problem((*path, *where), f"{kind.singular} '{value}' is not declared in "
                          f"module {'.'.join(self.scope.path)}",
                          f"declare it in the module, or take it as an input: "
                          f"{kind.singular}: ${{var.{kind.singular}}} (the caller passes "
                          f"${{{kind.value}.NAME.name}})")

    def _addresses(self, values: Any, path: PathKey) -> None:
        if not isinstance(values, list):
            return
        for index, text in enumerate(values):
            if not _literal(text):
                continue
            kind_text, dot, name = text.partition(".")
            kind = Kind.parse(kind_text)
            if kind is not None and dot and self.scope.declares(kind, name):
                values[index] = f"{kind.value}.{self.scope.flat(name)}"
            elif kind is not None and dot:
                self._problem((*path, index), f"'{text}' is not a resource of module "
                              f"{'.'.join(self.scope.path)}",
                              "a module orders only its own resources; the caller's come "
                              "first when passed as inputs")

    def _files(self, entry: dict[str, Any]) -> None:
        """Files a module names are in its own directory: given as absolute paths."""
        cloud_init = entry.get("cloud_init")
        if isinstance(cloud_init, dict):
            for key in ("user_data", "meta_data", "network_config"):
                value = cloud_init.get(key)
                if _literal(value) and not value.lstrip().startswith("#"):
                    cloud_init[key] = str(self.scope.directory / value)
        url = entry.get("url")
        if _literal(url) and "://" not in url and not url.startswith("/"):
            entry["url"] = str(self.scope.directory / url)

    def _problem(self, path: PathKey, message: str, hint: str) -> None:
        """A problem named by the module's address (``module.k8s.guests.web...``)."""
        named = "".join(f"module.{step}." for step in self.scope.path) + format_path(path)
        self.problems.append(StackProblem(self.source.value_at(path), named, message, hint))


def _named_references(kind: Kind, entry: Mapping[str, Any]
                      ) -> Iterator[tuple[PathKey, Kind, Any]]:
    """``(path in the entry, kind named, value)`` of every field naming a resource."""
    if kind in (Kind.VOLUME, Kind.IMAGE) and "pool" in entry:
        yield ("pool",), Kind.POOL, entry["pool"]
    if "image" in entry:
        yield ("image",), Kind.IMAGE, entry["image"]
    rootfs = entry.get("rootfs")
    if isinstance(rootfs, dict) and "pool" in rootfs:
        yield ("rootfs", "pool"), Kind.POOL, rootfs["pool"]
    for key, fields in (("networks", (("network", Kind.NETWORK),)),
                        ("disks", (("volume", Kind.VOLUME), ("pool", Kind.POOL),
                                   ("image", Kind.IMAGE))),
                        ("mounts", (("pool", Kind.POOL),))):
        items = entry.get(key)
        for index, item in enumerate(items if isinstance(items, list) else []):
            for name, target in fields:
                if isinstance(item, dict) and name in item:
                    yield (key, index, name), target, item[name]


def _set_at(entry: dict[str, Any], where: PathKey, value: Any) -> None:
    container: Any = entry
    for step in where[:-1]:
        container = container[step]
    container[where[-1]] = value


def caller_names(text: str, flat: Callable[[Kind, str], str | None]) -> str:
    """``text`` with each ``${KIND.NAME.name}`` replaced by that resource's flat name in
    the caller (``flat`` gives None for one it does not declare: left as written)."""

    def replace(match: re.Match[str]) -> str:
        kind = Kind(match.group(1))
        found = flat(kind, match.group(2))
        return match.group(0) if found is None else found

    return RESOURCE_NAME_RE.sub(replace, text)


def output_in_caller(text: str, scope: ModuleScope) -> str:
    """A module output's expression with the module's resources named by their flat
    names (``${guests.worker[*].ip}`` → ``${guests.k8s-worker[*].ip}``)."""

    def replace(match: re.Match[str]) -> str:
        kind, name = Kind(match.group(2)), match.group(3)
        if not scope.declares(kind, name):
            return match.group(0)
        return f"{match.group(1)}{kind.value}.{scope.flat(name)}"

    return _OUTPUT_REFERENCE_RE.sub(replace, text)


class Scoping:
    """Gives module resources their module addresses, once the stack is resolved under
    flat names: ``guests.k8s-worker-0`` becomes ``module.k8s.guests.worker-0``, named
    ``k8s-worker-0`` on the hypervisor."""

    def __init__(self, names: Mapping[tuple[Kind, str], tuple[tuple[str, ...], str]],
                 groups: Mapping[Address, list[Address]]) -> None:
        self.addresses: dict[Address, Address] = {}
        self.declared_as: dict[Address, Address] = {}
        """Module address of each module declaration → its flat group address."""
        for group, members in groups.items():
            found = names.get((group.kind, group.name))
            if found is None:
                continue
            path, local = found
            self.declared_as[Address(group.kind, local, path)] = group
            for member in members:
                suffix = member.name[len(group.name):]
                self.addresses[member] = Address(member.kind, local + suffix, path,
                                                 index=member.index)

    def address(self, flat: Address) -> Address:
        return self.addresses.get(flat, flat)

    def resource(self, resource: Resource) -> Resource:
        address = self.addresses.get(resource.address)
        moved = [address, *(self.addresses.get(d) for d in resource.deps),
                 *(self.addresses.get(a) for a in resource.references.values())]
        if not any(moved):
            return resource
        return replace(
            resource, address=address or resource.address,
            object_name=resource.address.name if address else resource.object_name,
            deps=tuple(self.address(d) for d in resource.deps),
            references={path: self.address(a) for path, a in resource.references.items()})

    def groups(self, groups: Mapping[Address, list[Address]]) -> dict[Address, list[Address]]:
        return {group: [self.address(m) for m in members] for group, members in groups.items()}

    def written_groups(self, groups: Mapping[Address, list[Address]]
                       ) -> dict[Address, list[Address]]:
        """Each declaration's instances, keyed as a user writes it: the stack's by their
        name, a module's by its module address (not its flat name)."""
        flat = set(self.declared_as.values())
        written = {g: [self.address(m) for m in ms] for g, ms in groups.items()
                   if g not in flat}
        return written | {a: [self.address(m) for m in groups.get(f, [])]
                          for a, f in self.declared_as.items()}


def module_problem_path(path: str,
                        names: Mapping[tuple[Kind, str], tuple[tuple[str, ...], str]]) -> str:
    """A problem's key path in a module's terms: ``guests.k8s-node.memory`` (its flat
    name) → ``module.k8s.guests.node.memory``, as the user wrote it; others unchanged."""
    kind_text, dot, rest = path.partition(".")
    kind = Kind.parse(kind_text)
    if kind is None or not dot or not names:
        return path
    cut = min((i for i in (rest.find("."), rest.find("[")) if i >= 0), default=len(rest))
    found = module_address(Address(kind, rest[:cut]), names)
    return path if found is None else str(found) + rest[cut:]


def module_address(flat: Address,
                   names: Mapping[tuple[Kind, str], tuple[tuple[str, ...], str]]
                   ) -> Address | None:
    """The module address of a flat name (``guests.k8s-node-0`` →
    ``module.k8s.guests.node-0``), or None for one of the stack's own."""
    base, _, suffix = flat.name.rpartition("-")
    found = names.get((flat.kind, flat.name))
    if found is None and base:
        found = names.get((flat.kind, base))
        suffix = "-" + suffix
    else:
        suffix = ""
    if found is None:
        return None
    module, local = found
    return Address(flat.kind, local + suffix, module)
