"""pydantic validation errors → Problems that name file:line:col, key path and a hint.

A validator can give the hint itself: ``PydanticCustomError("value_error",
"{reason}", {"reason": ..., "hint": ...})``.
"""

from __future__ import annotations

import re
import types
import typing
from collections.abc import Collection
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError
from pydantic_core import ErrorDetails

from provisioner.core.address import NAME_HELP, NAME_PATTERN
from provisioner.errors import StackProblem
from provisioner.images.checksums import CHECKSUM_PATTERN
from provisioner.stack.interpolate import did_you_mean
from provisioner.stack.source import PathKey, SourceMap, format_path

M = TypeVar("M", bound=BaseModel)

_TYPE_NAMES = {
    "int_type": "a whole number",
    "int_parsing": "a whole number",
    "bool_type": "true or false",
    "string_type": "a string",
    "float_type": "a number",
    "dict_type": "a mapping (key: value)",
    "model_type": "a mapping (key: value)",
    "list_type": "a list",
}
_TYPE_HINTS = {
    "int_type": "write a whole number, such as 2",
    "float_type": "write a number, such as 1.5",
    "bool_type": "write true or false",
}
_UNQUOTED = {
    "int_type": re.compile(r"^[-+]?\d+$"),
    "float_type": re.compile(r"^[-+]?(\d+(\.\d*)?|\.\d+)([eE][-+]?\d+)?$"),
    "bool_type": re.compile(r"^(true|false)$"),
}


def validate_model(
    model: type[M],
    data: Any,
    source: SourceMap,
    prefix: PathKey = (),
    hidden: Collection[PathKey] = (),
) -> tuple[M | None, list[StackProblem]]:
    """Validate ``data`` found at ``prefix``; every error becomes a positioned StackProblem.

    Input values at or under ``hidden`` paths (secrets) are never quoted in messages.
    """
    try:
        return model.model_validate(data), []
    except ValidationError as exc:
        return None, [_problem(model, error, source, prefix, hidden) for error in exc.errors()]


def _problem(
    model: type[BaseModel],
    error: ErrorDetails,
    source: SourceMap,
    prefix: PathKey,
    hidden: Collection[PathKey],
) -> StackProblem:
    loc = tuple(error["loc"])
    on_key = bool(loc) and loc[-1] == "[key]"
    path: PathKey = prefix + tuple(part for part in loc if part != "[key]")
    kind = error["type"]
    text = format_path(path)
    if kind == "extra_forbidden":
        key = str(loc[-1])
        hint = did_you_mean(key, field_names(model, loc[:-1])) or "no keys are accepted here"
        return StackProblem(source.key_at(path), text, f"unknown key '{key}'", hint)
    if kind == "missing":
        key = str(loc[-1])
        return StackProblem(source.value_at(path[:-1]), text, f"missing required key '{key}'",
                       f"add `{key}:`")
    if on_key:
        return StackProblem(source.key_at(path), text,
                       f"'{path[-1]}' is not a valid name", _hint(error))
    secret = any(path[:end] in hidden for end in range(len(path) + 1))
    shown = "" if secret else _shown_input(error)
    hint = str((error.get("ctx") or {}).get("hint") or _hint(error))
    message = _message(error, shown)
    if secret and kind == "value_error":  # validators quote the value they refuse
        message = "the value is not valid (not shown: it comes from a secret)"
    if secret and kind in _TYPE_HINTS and isinstance(error.get("input"), str):
        hint = ("${env.NAME} gives a string; for another type, declare a typed variable "
                "and set it with --var")
    return StackProblem(source.value_at(path), text, message, hint)


def _shown_input(error: ErrorDetails) -> str:
    value = error.get("input")
    if isinstance(value, dict | list):
        return f" (got a {'mapping' if isinstance(value, dict) else 'list'})"
    text = repr(value)
    return f" (got {text[:60]})"


def _message(error: ErrorDetails, shown: str) -> str:
    kind = error["type"]
    if kind in _TYPE_NAMES:
        return f"expected {_TYPE_NAMES[kind]}{shown}"
    if kind == "value_error":
        return str(error["msg"]).removeprefix("Value error, ")
    if kind == "literal_error":
        expected = (error.get("ctx") or {}).get("expected", "")
        return f"expected one of {expected}{shown}"
    if kind == "string_pattern_mismatch":
        return f"not a valid value{shown}"
    return f"{error['msg']}{shown}"


_PATTERN_HELP = {
    NAME_PATTERN: NAME_HELP,
    CHECKSUM_PATTERN: "write sha256:HEX or sha512:HEX (the digest in hexadecimal)",
}


def _hint(error: ErrorDetails) -> str:
    kind = error["type"]
    value = error.get("input")
    if kind in _UNQUOTED and isinstance(value, str) and _UNQUOTED[kind].match(value.strip()):
        return "write the value without quotes"
    if kind in _TYPE_HINTS:
        return _TYPE_HINTS[kind]
    if kind in ("dict_type", "model_type") and value is None:
        return "indent its keys under it, or write {} for none"
    if kind == "string_type" and isinstance(value, int | float | bool):
        return "quote the value to make it a string"
    if kind == "string_pattern_mismatch":
        pattern = (error.get("ctx") or {}).get("pattern")
        return _PATTERN_HELP.get(str(pattern), f"the value must match {pattern}")
    if kind == "literal_error" and isinstance(value, str):
        expected = str((error.get("ctx") or {}).get("expected", ""))
        close = did_you_mean(value, re.findall(r"'([^']*)'", expected))
        return close if close.startswith("did you mean") else ""
    return ""


def field_names(model: type[BaseModel], loc: tuple[Any, ...]) -> list[str]:
    """Keys accepted by the model found at ``loc`` inside ``model`` (aliases included)."""
    target = _model_at(model, loc)
    if target is None:
        return []
    return [info.alias or name for name, info in target.model_fields.items()]


def _model_at(model: type[BaseModel], loc: tuple[Any, ...]) -> type[BaseModel] | None:
    annotation: Any = model
    for part in loc:
        annotation = _step(annotation, part)
        if annotation is None:
            return None
    return _as_model(annotation)


def _step(annotation: Any, part: Any) -> Any:
    model = _as_model(annotation)
    if model is not None and isinstance(part, str):
        for name, info in model.model_fields.items():
            if part in (name, info.alias):
                return info.annotation
        return None
    for candidate in _members(annotation):
        origin = typing.get_origin(candidate)
        args = typing.get_args(candidate)
        if origin is dict and args:
            return args[1]
        if origin is list and args:
            return args[0]
    return None


def _as_model(annotation: Any) -> type[BaseModel] | None:
    for candidate in _members(annotation):
        if isinstance(candidate, type) and issubclass(candidate, BaseModel):
            return candidate
    return None


def _members(annotation: Any) -> list[Any]:
    if typing.get_origin(annotation) is typing.Annotated:
        return _members(typing.get_args(annotation)[0])
    if typing.get_origin(annotation) in (typing.Union, types.UnionType):
        return [m for arg in typing.get_args(annotation) for m in _members(arg)]
    return [annotation]
