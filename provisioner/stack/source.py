"""YAML reading that remembers where every key and value came from.

``read_yaml`` turns a file into plain Python data plus a ``SourceMap`` from
key paths (tuples of keys and list indexes) to positions, so any later check
(pydantic, references, cycles) can name ``file:line:col``.

Differences from ``yaml.safe_load``, on purpose:
- only ``true``/``false`` are booleans (YAML 1.2): ``power: on`` stays a string;
- a key repeated in one mapping is a problem, not a silent overwrite;
- timestamps stay strings (a stack never needs dates);
- nesting and alias expansion are bounded (``yaml_bounds``), and a file is read
  only if it is a regular file of at most ``STACK_FILE_LIMIT`` bytes.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from provisioner.core.file_access import STACK_FILE_LIMIT, FileRefused, read_regular
from provisioner.errors import Position, StackProblem
from provisioner.stack.yaml_bounds import (
    MERGE_TAG,
    BoundedComposer,
    BuildBudget,
    ExpansionExceeded,
    TooDeep,
    original,
)

PathKey = tuple[str | int, ...]


class _StrictLoader(BoundedComposer, yaml.SafeLoader):
    """SafeLoader with YAML 1.2-style booleans, no timestamp type, and bounds."""


_DROPPED_TAGS = {"tag:yaml.org,2002:bool", "tag:yaml.org,2002:timestamp"}
_StrictLoader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag not in _DROPPED_TAGS]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
_StrictLoader.add_implicit_resolver(
    "tag:yaml.org,2002:bool", re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"), list("tTfF")
)


class ValueRefused(yaml.YAMLError):
    """A value typed on the command line that the rules of stack files refuse."""


def parse_value(text: str, name: str = "the value") -> Any:
    """A value typed on the command line, read with the same rules and bounds as
    stack files (``yes`` stays a string). Raises yaml.YAMLError."""
    document = _parse(text, name)
    if document.problems:
        first = document.problems[0]
        raise ValueRefused(f"{first.message} (at {first.position})")
    return document.data


def format_path(path: PathKey) -> str:
    """``("guests", "web", "disks", 0, "size")`` → ``guests.web.disks[0].size``."""
    text = ""
    for part in path:
        if isinstance(part, int):
            text += f"[{part}]"
        else:
            text += f".{part}" if text else str(part)
    return text


def parse_path(text: str) -> PathKey:
    """The inverse of ``format_path``: ``networks[0].network`` → ("networks", 0, "network")."""
    return tuple(int(part) if part.isdigit() else part
                 for part in re.findall(r"[^.\[\]]+", text))


@dataclass
class SourceMap:
    """Positions of keys and values by path; merged across the files of a stack."""

    values: dict[PathKey, Position] = field(default_factory=dict)
    keys: dict[PathKey, Position] = field(default_factory=dict)
    decrypted: set[PathKey] = field(default_factory=set)
    """Paths of values decrypted from SOPS files (encrypted.py): sensitive."""

    def value_at(self, path: PathKey) -> Position | None:
        """Position of the value at ``path``, else of its nearest ancestor."""
        return self._nearest(self.values, path)

    def key_at(self, path: PathKey) -> Position | None:
        """Position of the key that names ``path``, else the value's position."""
        return self.keys.get(path) or self.value_at(path)

    def update(self, other: SourceMap) -> None:
        self.values.update(other.values)
        self.keys.update(other.keys)
        self.decrypted |= other.decrypted

    def _nearest(self, table: dict[PathKey, Position], path: PathKey) -> Position | None:
        for end in range(len(path), -1, -1):
            position = table.get(path[:end])
            if position is not None:
                return position
        return None


@dataclass
class YamlDocument:
    """One stack file: its data, where each part came from, and what was wrong."""

    path: Path
    data: Any
    source: SourceMap
    problems: list[StackProblem]


def read_yaml(path: Path, display_name: str | None = None) -> YamlDocument:
    """Read one YAML file. Syntax errors become problems, never exceptions."""
    name = display_name or str(path)
    try:
        text = read_regular(path, STACK_FILE_LIMIT, "").decode("utf-8")
    except (FileRefused, UnicodeDecodeError) as exc:
        reason = exc.message if isinstance(exc, FileRefused) else f"cannot read the file: {exc}"
        document = YamlDocument(path, None, SourceMap(), [])
        document.source.values[()] = Position(name, 1, 1)
        document.problems.append(StackProblem(Position(name, 1, 1), "", reason))
        return document
    document = _parse(text, name)
    document.path = path
    return document


def _parse(text: str, name: str) -> YamlDocument:
    source = SourceMap()
    source.values[()] = Position(name, 1, 1)  # so problems of an empty file name it
    problems: list[StackProblem] = []
    try:
        loader = _StrictLoader(text)  # refuses control characters before parsing starts
    except yaml.reader.ReaderError as exc:
        before = text[: exc.position]
        where = Position(name, before.count("\n") + 1, len(before) - before.rfind("\n"))
        code = exc.character if isinstance(exc.character, int) else ord(exc.character)
        problems.append(StackProblem(where, "", f"invalid YAML: control character U+{code:04X}",
                                "remove it; inside double quotes write it as an escape"))
        return YamlDocument(Path(name), None, source, problems)
    try:
        node = loader.get_single_node()
        builder = _Builder(loader, name, source, problems, BuildBudget(loader.composed_nodes))
        data = builder.build(node, ()) if node is not None else None
    except TooDeep as exc:
        where = _position(name, exc.problem_mark) if exc.problem_mark else Position(name, 1, 1)
        problems.append(StackProblem(where, "",
                                     f"invalid YAML: {exc.problem}",
                                     "a stack needs a few levels; flatten the structure"))
        data = None
    except ExpansionExceeded as exc:
        problems.append(StackProblem(_position(name, exc.mark), "", exc.message, exc.hint))
        data = None
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        position = _position(name, mark) if mark else Position(name, 1, 1)
        problems.append(StackProblem(position, "", f"invalid YAML: {exc.problem or exc}",
                                "check indentation and quoting"))
        data = None
    finally:
        loader.dispose()
    return YamlDocument(Path(name), data, source, problems)


def _position(name: str, mark: yaml.Mark) -> Position:
    return Position(name, mark.line + 1, mark.column + 1)


class _Builder:
    """Turns composed YAML nodes into data, recording positions and duplicates."""

    def __init__(self, loader: _StrictLoader, name: str, source: SourceMap,
                 problems: list[StackProblem], budget: BuildBudget) -> None:
        self.loader = loader
        self.name = name
        self.source = source
        self.problems = problems
        self.budget = budget
        self.open: set[int] = set()  # ids of the nodes being built: an alias to one loops
        self.checked: set[int] = set()  # ids of the mappings checked for duplicate keys

    def build(self, node: yaml.Node, path: PathKey) -> Any:
        position = _position(self.name, node.start_mark)
        self.source.values[path] = position
        if id(original(node)) in self.open:
            self.problems.append(StackProblem(position, format_path(path),
                                         "an alias refers to a node that contains it",
                                         "a stack cannot be recursive; copy the values instead"))
            return None
        is_alias = self.budget.enter(node, len(path))
        node = original(node)  # an alias is built from its anchor (merges flattened there)
        self.open.add(id(node))
        try:
            if isinstance(node, yaml.MappingNode):
                return self._mapping(node, path)
            if isinstance(node, yaml.SequenceNode):
                return [self.build(item, (*path, index)) for index, item in enumerate(node.value)]
            return self._scalar(node, path, position)
        finally:
            self.open.discard(id(node))
            if is_alias:
                self.budget.leave()

    def _scalar(self, node: yaml.Node, path: PathKey, position: Position) -> Any:
        # PyYAML's constructors raise plain Python errors for explicit tags such as
        # `!!int abc` or `!!bool maybe`; they must become problems, not tracebacks.
        try:
            return self.loader.construct_object(node, deep=True)
        except yaml.constructor.ConstructorError as exc:
            message = f"invalid YAML: {exc.problem or exc}"
        except (ValueError, KeyError, TypeError, AttributeError):
            message = f"{node.value!r} cannot be read as {node.tag}"
        self.problems.append(StackProblem(position, format_path(path), message,
                                     "remove the explicit tag (!!...) or fix the value"))
        return node.value

    def _mapping(self, node: yaml.MappingNode, path: PathKey) -> dict[str, Any]:
        if id(node) not in self.checked:  # once: built again for an alias, it is flattened
            self.checked.add(id(node))
            self._report_duplicates(node, path)
        merge = next((key for key, _ in node.value if key.tag == MERGE_TAG), None)
        self.loader.flatten_mapping(node)  # resolves `<<: *anchor`; explicit keys win
        if merge is None:
            return self._pairs(node, path)
        self.budget.aliases.append(merge)  # what it adds is counted against the merge
        try:
            return self._pairs(node, path)
        finally:
            self.budget.leave()

    def _pairs(self, node: yaml.MappingNode, path: PathKey) -> dict[str, Any]:
        result: dict[str, Any] = {}
        for key_node, value_node in node.value:
            key_position = _position(self.name, key_node.start_mark)
            if not isinstance(key_node, yaml.ScalarNode):
                self.problems.append(StackProblem(key_position, format_path(path),
                                             "a key must be a plain name, not a list or mapping",
                                             "write `name: value`"))
                continue
            key = self._scalar(key_node, path, key_position)
            if not isinstance(key, str):
                self.problems.append(
                    StackProblem(key_position, format_path(path),
                            f"key {key!r} is not a string", "quote the key")
                )
                key = str(key)
            key_path = (*path, key)
            self.source.keys[key_path] = key_position
            result[key] = self.build(value_node, key_path)
        return result

    def _report_duplicates(self, node: yaml.MappingNode, path: PathKey) -> None:
        first_seen: dict[str, Position] = {}
        for key_node, _ in node.value:
            merge = key_node.tag == MERGE_TAG
            if not isinstance(key_node, yaml.ScalarNode) or merge:
                continue
            key = str(key_node.value)
            position = _position(self.name, key_node.start_mark)
            if key in first_seen:
                self.problems.append(
                    StackProblem(position, format_path((*path, key)),
                            f"duplicate key '{key}' (first at {first_seen[key]})",
                            "remove one of the two; YAML would keep only the last")
                )
            else:
                first_seen[key] = position
