"""``${count.index}`` in the values of a resource with ``count``."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from provisioner.stack.source import PathKey
from provisioner.stack.values import COUNT_INDEX_RE


def count_index_paths(value: Any, path: PathKey = ()) -> list[PathKey]:
    """Where ``${count.index}`` is written in a spec."""
    if isinstance(value, str):
        return [path] if COUNT_INDEX_RE.search(value) else []
    if isinstance(value, Mapping):
        return [p for key, item in value.items() for p in count_index_paths(item, (*path, key))]
    if isinstance(value, list):
        return [p for i, item in enumerate(value) for p in count_index_paths(item, (*path, i))]
    return []


def substitute_index(value: Any, index: int) -> Any:
    if isinstance(value, str):
        return COUNT_INDEX_RE.sub(str(index), value)
    if isinstance(value, Mapping):
        return {key: substitute_index(item, index) for key, item in value.items()}
    if isinstance(value, list):
        return [substitute_index(item, index) for item in value]
    return value
