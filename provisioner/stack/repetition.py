"""``for_each:`` and ``enabled:`` on resources, applied to the data before validation.

A resource with ``for_each`` (a list of names, or a map of name → value) becomes one
entry per key, named ``NAME-KEY`` (``guests.web-a``), with ``${each.key}`` and
``${each.value...}`` substituted (``each.py``): each instance is then validated as
if it had been written out, so a size field sees the substituted text. The source
map gets the declaration's positions under each instance's path, so every later
problem of an instance points at the line that declares it; ``fold_instance_problems``
reports a problem all instances share once, under the declared name.

``enabled: false`` keeps the resource (or all its instances) out of the stack: it
is still validated, then left out of the declarations (loader.py, resolve.py).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from provisioner.core.address import NAME_HELP, NAME_RE, Address, Kind
from provisioner.errors import Position, StackProblem
from provisioner.stack.each import EachProblem, each_paths, each_value, reads_each
from provisioner.stack.source import PathKey, SourceMap, format_path

_NOT_IN_INSTANCES = ("for_each", "enabled")
_INSTANCE_PATH_RE = re.compile(r"^(?P<kind>[a-z]+)\.(?P<name>[a-z0-9-]+)(?P<rest>[.\[].*)?$")


@dataclass
class Repetition:
    """The resource sections with every ``for_each`` expanded, and what that made."""

    data: dict[str, Any]
    problems: list[StackProblem] = field(default_factory=list)
    instances: dict[Address, dict[str, str]] = field(default_factory=dict)
    """Each declaration with ``for_each`` → its keys → their instance names, in order."""
    disabled: dict[Address, PathKey] = field(default_factory=dict)
    """Declarations with ``enabled: false`` (and their instances) → where that is said."""
    invalid: set[Address] = field(default_factory=set)
    """Declarations and instances left out for a problem already reported (count with
    for_each, an ``${each...}`` that gives no value)."""

    def declared_as(self) -> dict[Address, tuple[Address, str]]:
        return declared_as(self.instances)


def declared_as(instances: Mapping[Address, Mapping[str, str]]
                ) -> dict[Address, tuple[Address, str]]:
    """Each instance of a for_each declaration → the declaration and its key."""
    return {Address(group.kind, name): (group, key)
            for group, keys in instances.items() for key, name in keys.items()}


def expand_repetition(data: dict[str, Any], source: SourceMap) -> Repetition:
    """Expand ``for_each`` and read ``enabled`` in every resource section of ``data``
    (interpolated: ``for_each: ${var.workers}`` is already a list or map)."""
    result = Repetition(dict(data))
    for kind in Kind:
        section = data.get(kind.value)
        if isinstance(section, dict):
            result.data[kind.value] = _Section(kind, section, source, result).expand()
    return result


class _Section:
    def __init__(self, kind: Kind, section: dict[str, Any], source: SourceMap,
                 result: Repetition) -> None:
        self.kind = kind
        self.section = section
        self.source = source
        self.result = result
        self.made: dict[str, Any] = {}

    def expand(self) -> dict[str, Any]:
        for name, raw in self.section.items():
            if not isinstance(raw, dict):
                self.made[name] = raw  # the model reports the wrong type
                continue
            path: PathKey = (self.kind.value, name)
            body = {key: value for key, value in raw.items() if key not in _NOT_IN_INSTANCES}
            enabled = self._enabled(raw, path)
            if "for_each" not in raw:
                self._each_outside(body, path)
                self.made[name] = body
                if not enabled:
                    self.result.disabled[Address(self.kind, name)] = (*path, "enabled")
            elif "count" in raw:
                self._problem(self.source.key_at((*path, "for_each")), (*path, "for_each"),
                              "count and for_each together: a resource has one or the other",
                              "count: N makes NAME-0 .. NAME-(N-1); for_each (a list or map) "
                              "makes one instance per key, NAME-KEY")
                self.result.invalid.add(Address(self.kind, name))
            else:
                self._for_each(name, raw["for_each"], body, path, enabled)
        return self.made

    def _enabled(self, raw: dict[str, Any], path: PathKey) -> bool:
        value = raw.get("enabled", True)
        if isinstance(value, bool):
            return value
        where = (*path, "enabled")
        self._problem(self.source.value_at(where), where,
                      f"enabled is true or false (got {value!r:.60})",
                      "write true or false, or a boolean variable such as "
                      "${var.with_monitoring}")
        return True

    def _each_outside(self, body: dict[str, Any], path: PathKey) -> None:
        for where, expression in each_paths(body, path):
            self._problem(self.source.value_at(where), where,
                          f"'{expression}' is known only in a resource with for_each",
                          "add for_each: (a list or map), or write the value itself")

    def _for_each(self, name: str, given: Any, body: dict[str, Any], path: PathKey,
                  enabled: bool) -> None:
        group = Address(self.kind, name)
        keys = self.result.instances.setdefault(group, {})
        if not enabled:
            self.result.disabled[group] = (*path, "enabled")
        declared = _entries_under(self.source, path)
        for key, item, key_path in self._items(given, (*path, "for_each")):
            instance = f"{name}-{key}"
            if not self._valid_key(key, instance, key_path):
                continue
            problems: list[EachProblem] = []
            made = each_value(body, key, item, problems)
            keys[key] = instance
            _alias(self.source, declared, (self.kind.value, instance))
            if problems:  # validating the text left as written would only repeat them
                self.result.invalid.add(Address(self.kind, instance))
            else:
                self.made[instance] = made
            for problem in problems:
                where = (*path, *problem.path)
                self._problem(self.source.value_at(where),
                              (self.kind.value, instance, *problem.path),
                              problem.message, problem.hint)
            if not enabled:
                self.result.disabled[Address(self.kind, instance)] = (*path, "enabled")

    def _items(self, given: Any, path: PathKey) -> list[tuple[str, Any, PathKey]]:
        """(key, value, where the key is written) for each key of a for_each value."""
        if isinstance(given, dict):
            return [(key, value, (*path, key)) for key, value in given.items()]
        if isinstance(given, str) and "${" in given and not reads_each(given):
            return []  # an expression without a value: the interpolator reported it
        if not isinstance(given, list):
            self._problem(self.source.value_at(path), path,
                          f"for_each takes a list of names or a map (got {given!r:.60})",
                          "write for_each: [a, b], a map {a: {...}, b: {...}}, or "
                          "${var.NAME} of a list or map variable")
            return []
        items: list[tuple[str, Any, PathKey]] = []
        seen: set[str] = set()
        for index, key in enumerate(given):
            where = (*path, index)
            if not isinstance(key, str):
                self._problem(self.source.value_at(where), where,
                              f"a for_each list holds names (got {key!r:.60})",
                              "quote it to make it a name, such as '1'; for values per "
                              "instance, write a map")
            elif key in seen:
                self._problem(self.source.value_at(where), where,
                              f"'{key}' is in the for_each list twice",
                              "each key makes one instance; remove one")
            else:
                seen.add(key)
                items.append((key, key, where))
        return items

    def _valid_key(self, key: str, instance: str, key_path: PathKey) -> bool:
        where = self.source.key_at(key_path) if isinstance(key_path[-1], str) \
            else self.source.value_at(key_path)
        if not NAME_RE.match(instance):
            self._problem(where, key_path,
                          f"for_each key '{key:.60}' makes the name '{instance:.80}', which "
                          "is not a valid name",
                          f"{NAME_HELP}; a key makes the name NAME-KEY, at most 63 "
                          "characters in all")
            return False
        if instance in self.section or instance in self.made:
            self._problem(where, key_path,
                          f"for_each key '{key}' makes {self.kind.value}.{instance}, which "
                          "is declared already", "rename the key or the other resource")
            return False
        return True

    def _problem(self, position: Position | None, path: PathKey, message: str,
                 hint: str) -> None:
        self.result.problems.append(StackProblem(position, format_path(path), message, hint))


def _entries_under(source: SourceMap, prefix: PathKey) -> list[tuple[bool, PathKey, Any]]:
    """The positions recorded under ``prefix`` (keys and values), but those of its
    ``for_each`` (an instance has none), as (is a key, path after the prefix, position)."""
    found = []
    for is_key, table in ((False, source.values), (True, source.keys)):
        for path, position in table.items():
            rest = path[len(prefix):]
            if path[:len(prefix)] == prefix and rest[:1] != ("for_each",):
                found.append((is_key, rest, position))
    return found


def _alias(source: SourceMap, entries: list[tuple[bool, PathKey, Any]],
           instance: PathKey) -> None:
    """Give ``instance``'s paths the positions of its declaration's."""
    for is_key, rest, position in entries:
        (source.keys if is_key else source.values)[(*instance, *rest)] = position


def alias_paths(paths: set[PathKey], declared_as: Mapping[Address, tuple[Address, str]]
                ) -> set[PathKey]:
    """``paths`` and, for each under a declaration with for_each, the same path under
    each of its instances (values from secrets stay unquoted in every instance)."""
    by_group: dict[PathKey, list[PathKey]] = {}
    for instance, (group, _) in declared_as.items():
        by_group.setdefault((group.kind.value, group.name), []).append(
            (instance.kind.value, instance.name))
    found = set(paths)
    for path in paths:
        for prefix in by_group.get(path[:2], []):
            found.add((*prefix, *path[2:]))
    return found


def fold_instance_problems(problems: list[StackProblem],
                           instances: Mapping[Address, Mapping[str, str]]) -> list[StackProblem]:
    """Problems of the instances of a for_each declaration, under its name: one that
    every instance has is reported once, one that some have names their keys."""
    owner = declared_as(instances)
    folded: dict[tuple[Any, ...], list[str]] = {}
    order: list[StackProblem | tuple[Any, ...]] = []
    for problem in problems:
        match = _INSTANCE_PATH_RE.match(problem.path)
        kind = Kind.parse(match.group("kind")) if match else None
        found = owner.get(Address(kind, match.group("name"))) if match and kind else None
        if match is None or found is None:
            order.append(problem)
            continue
        group, key = found
        ident = (group, problem.position, f"{group}{match.group('rest') or ''}",
                 problem.message, problem.hint)
        if ident not in folded:
            folded[ident] = []
            order.append(ident)
        folded[ident].append(key)
    return [item if isinstance(item, StackProblem) else _folded(item, folded[item], instances)
            for item in order]


def _folded(ident: tuple[Any, ...], keys: list[str],
            instances: Mapping[Address, Mapping[str, str]]) -> StackProblem:
    group, position, path, message, hint = ident
    if len(keys) < len(instances[group]):
        named = ", ".join(f"'{key}'" for key in keys)
        message += f" (for_each key{'s' if len(keys) > 1 else ''} {named})"
    return StackProblem(position, path, message, hint)
