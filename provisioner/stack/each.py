"""``${each.key}`` and ``${each.value...}``: one instance's values in a resource with
``for_each``.

``each_value`` is the seam the expression language takes over: it walks a value
(mappings, lists, text) and substitutes the ``each.`` expressions of one instance.
A value that is only the expression keeps the item's type (``cpus:
${each.value.cpus}`` is an integer, ``memory: ${each.value.memory}`` the text
``"4GiB"`` that the size type reads); inside text it is written as text.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from provisioner.stack.source import PathKey

EACH_RE = re.compile(r"\$\{\s*(each(?:\.[^}]*?)?)\s*\}")
"""An ``each`` expression; group 1 is the expression without ``${ }``."""
_STEP_RE = re.compile(r"\.([A-Za-z0-9_-]+)|\[(\d+)\]")


@dataclass(frozen=True)
class EachProblem:
    """An ``each`` expression that gives no value, at ``path`` inside the walked value."""

    path: PathKey
    message: str
    hint: str


def each_paths(value: Any, path: PathKey = ()) -> list[tuple[PathKey, str]]:
    """Where an ``${each...}`` expression is written inside ``value``: (path, the
    first such expression there)."""
    if isinstance(value, str):
        match = EACH_RE.search(value)
        return [(path, match.group(0))] if match else []
    if isinstance(value, Mapping):
        return [p for key, item in value.items() for p in each_paths(item, (*path, key))]
    if isinstance(value, list):
        return [p for i, item in enumerate(value) for p in each_paths(item, (*path, i))]
    return []


def each_value(value: Any, key: str, item: Any,
               problems: list[EachProblem] | None = None, path: PathKey = ()) -> Any:
    """``value`` with its ``each`` expressions replaced for the instance ``key`` whose
    for_each value is ``item``; an expression that gives nothing stays as written and
    is added to ``problems``."""
    found = problems if problems is not None else []
    if isinstance(value, str):
        return _text(value, key, item, found, path)
    if isinstance(value, Mapping):
        return {k: each_value(v, key, item, found, (*path, k)) for k, v in value.items()}
    if isinstance(value, list):
        return [each_value(v, key, item, found, (*path, i)) for i, v in enumerate(value)]
    return value


def _text(text: str, key: str, item: Any, problems: list[EachProblem], path: PathKey) -> Any:
    whole = EACH_RE.fullmatch(text)
    if whole:
        return _evaluate(whole.group(1), key, item, problems, path, text)

    def replace(match: re.Match[str]) -> str:
        value = _evaluate(match.group(1), key, item, problems, path, match.group(0))
        if isinstance(value, list | dict) or value is None:
            what = "null" if value is None else "a list" if isinstance(value, list) else "a map"
            problems.append(EachProblem(path, f"'{match.group(0)}' is {what}, which cannot be "
                                        "part of a text", "write the expression alone as the "
                                        "whole value, or name a text inside it"))
            return match.group(0)
        if isinstance(value, bool):
            return "true" if value else "false"
        return str(value)

    return EACH_RE.sub(replace, text)


def _evaluate(expression: str, key: str, item: Any, problems: list[EachProblem],
              path: PathKey, original: str) -> Any:
    head, _, rest = expression.partition(".")
    if head == "each" and rest == "key":
        return key
    if head != "each" or not (rest == "value" or rest.startswith(("value.", "value["))):
        problems.append(EachProblem(path, f"'{original}' is not each.key or each.value",
                                    "write ${each.key}, ${each.value} or ${each.value.NAME}"))
        return original
    steps = rest.removeprefix("value")
    if "".join(m.group(0) for m in _STEP_RE.finditer(steps)) != steps:
        problems.append(EachProblem(path, f"'{original}' is not a path like "
                                    "each.value.NAME or each.value.NAME[0]",
                                    "names are letters, digits, '_' and '-'; indexes are "
                                    "whole numbers"))
        return original
    value = item
    walked = "each.value"
    for match in _STEP_RE.finditer(steps):
        part: str | int = match.group(1) if match.group(1) is not None else int(match.group(2))
        found = _step(value, part)
        if found is _MISSING:
            problems.append(EachProblem(path, f"'{original}': {walked} has no "
                                        f"{_describe(part)}",
                                        _choices(value)))
            return original
        value = found
        walked += f".{part}" if isinstance(part, str) else f"[{part}]"
    return value


_MISSING = object()


def _step(value: Any, part: str | int) -> Any:
    if isinstance(part, str) and isinstance(value, Mapping):
        return value.get(part, _MISSING)
    if isinstance(part, int) and isinstance(value, list) and part < len(value):
        return value[part]
    return _MISSING


def _describe(part: str | int) -> str:
    return f"key '{part}'" if isinstance(part, str) else f"item [{part}]"


def _choices(value: Any) -> str:
    if isinstance(value, Mapping):
        return "it has: " + ", ".join(sorted(value)) if value else "it is an empty map"
    if isinstance(value, list):
        return f"it is a list of {len(value)}"
    return f"it is {value!r:.40}, not a map or list"
