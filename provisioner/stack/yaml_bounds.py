"""Bounds on what a YAML document may make the reader build: nesting and aliases.

A 574-byte document of nine nested anchors, each a list of aliases of the
one before (``x1: &a1 [*a0, *a0, ...]``), expands to billions of values; and
500 nested brackets exhaust Python's stack. Both are refused with a problem at
the line concerned:

- ``MAX_DEPTH`` levels of nesting at most, while composing (the document as
  written) and while building (aliases inside aliases);
- the values built may exceed the values written by ``ALIAS_EXPANSION_LIMIT``
  at most: what aliases (and ``<<:`` merges) add. The problem names the alias,
  as written in the document, whose expansion passed the bound.

The composer keeps each alias as its own shallow copy of the anchored node
(``alias_of`` names the node), so the builder knows where an alias was written.
"""

from __future__ import annotations

import copy
from typing import Any

import yaml

MAX_DEPTH = 100
"""Levels of nesting: a stack needs about ten."""
MERGE_TAG = "tag:yaml.org,2002:merge"
ALIAS_EXPANSION_LIMIT = 100_000
"""Values that aliases may add to a document: a few hundred guests sharing defaults
through ``<<: *defaults`` need a few thousand."""


class TooDeep(yaml.MarkedYAMLError):
    """Nesting deeper than MAX_DEPTH, at the node that passed it."""


class BoundedComposer:
    """A mixin for a PyYAML loader: nesting bounded, aliases kept apart (see above)."""

    composed_nodes: int = 0
    _depth: int = 0

    def compose_node(self, parent: Any, index: Any) -> Any:
        if self.check_event(yaml.AliasEvent):  # type: ignore[attr-defined]
            mark = self.peek_event().start_mark  # type: ignore[attr-defined]
            node = super().compose_node(parent, index)  # type: ignore[misc]
            alias = copy.copy(node)
            alias.start_mark = alias.end_mark = mark
            alias.alias_of = getattr(node, "alias_of", node)
            return alias
        self.composed_nodes += 1
        self._depth += 1
        try:
            if self._depth > MAX_DEPTH:
                raise TooDeep(None, None, f"nesting deeper than {MAX_DEPTH} levels",
                              self.peek_event().start_mark)  # type: ignore[attr-defined]
            return super().compose_node(parent, index)  # type: ignore[misc]
        finally:
            self._depth -= 1


    def flatten_mapping(self, node: yaml.MappingNode) -> None:
        """PyYAML's ``<<:`` merge, given the anchored mappings rather than the copies
        that stand for aliases (a copy's pairs are those before its anchor's merge)."""
        for index, (key, value) in enumerate(node.value):
            if key.tag != MERGE_TAG:
                continue
            source = original(value)
            if isinstance(source, yaml.SequenceNode):
                source = yaml.SequenceNode(source.tag, [original(item) for item in source.value],
                                           source.start_mark, source.end_mark)
            node.value[index] = (key, source)
        super().flatten_mapping(node)  # type: ignore[misc]


class ExpansionExceeded(Exception):
    """Building passed a bound; ``mark`` is where (the outermost alias being built)."""

    def __init__(self, message: str, mark: yaml.Mark, hint: str) -> None:
        super().__init__(message)
        self.message = message
        self.mark = mark
        self.hint = hint


class BuildBudget:
    """Counts the values a builder makes against what the document holds."""

    def __init__(self, composed_nodes: int) -> None:
        self.left = composed_nodes + ALIAS_EXPANSION_LIMIT
        self.aliases: list[yaml.Node] = []
        """The aliases (and ``<<`` keys) being built, outermost first."""

    def enter(self, node: yaml.Node, depth: int) -> bool:
        """Count ``node``; True when it is an alias (the caller calls ``leave``)."""
        self.left -= 1
        is_alias = hasattr(node, "alias_of")
        if is_alias:
            self.aliases.append(node)
        if self.left < 0:
            where = self.aliases[0] if self.aliases else node
            raise ExpansionExceeded(
                f"aliases here expand to more than {ALIAS_EXPANSION_LIMIT} values "
                "(aliases inside aliases multiply)",
                where.start_mark,
                "write the values out, or nest fewer aliases")
        if depth > MAX_DEPTH:
            where = self.aliases[0] if self.aliases else node
            raise ExpansionExceeded(f"aliases here nest values deeper than {MAX_DEPTH} levels",
                                    where.start_mark, "nest fewer aliases inside aliases")
        return is_alias

    def leave(self) -> None:
        self.aliases.pop()


def original(node: yaml.Node) -> yaml.Node:
    """The anchored node an alias stands for (the node itself if it is no alias)."""
    found: yaml.Node = getattr(node, "alias_of", node)
    return found
