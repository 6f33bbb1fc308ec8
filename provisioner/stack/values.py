"""The scalar values of stack files: sizes with units, names, MAC and IPv4 addresses.

Each is an ``Annotated`` type for the models in ``model.py``: it validates, gives the
canonical value, and says in the JSON Schema what an editor should accept. MACs and
addresses may be ``${count.index}`` templates in counted guests (``per_instance``).
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Callable
from typing import Annotated, Any

from pydantic import AfterValidator, BeforeValidator, StringConstraints, WithJsonSchema
from pydantic_core import PydanticCustomError

from provisioner.core.address import NAME_PATTERN
from provisioner.stack.expressions import ExpressionError
from provisioner.stack.templates import (
    as_text,
    count_lookup,
    deferred_namespaces,
    evaluate_deferred,
)
from provisioner.units import UNITS_HELP, Bytes, parse_size


def empty_dict() -> dict[Any, Any]:
    """A model field's empty default. pydantic reads the signature of a default
    factory when it builds a model; a builtin's (``dict``) is parsed from text with
    the tokenizer, about 1 ms each and the tokenize module's import (issue 19)."""
    return {}


def empty_list() -> list[Any]:
    """See ``empty_dict``."""
    return []


def _size_error(reason: str) -> PydanticCustomError:
    return PydanticCustomError("value_error", "{reason}", {"reason": reason, "hint": UNITS_HELP})


def _size_from_text(value: Any) -> Any:
    if isinstance(value, Bytes):
        return value  # already a size: a spec read back into a provider's options model
    if isinstance(value, bool | int | float):
        raise _size_error(f"{value} has no unit")
    if isinstance(value, str):
        try:
            return parse_size(value)
        except ValueError as exc:
            raise _size_error(str(exc).removesuffix(f"; {UNITS_HELP}")) from None
        except OverflowError:  # hundreds of digits overflow the float to inf
            raise _size_error(f"'{value[:40]}...' is too large") from None
    return value


Size = Annotated[
    int,
    BeforeValidator(_size_from_text),
    AfterValidator(Bytes),
    WithJsonSchema(
        {
            "type": "string",
            "pattern": r"^\s*\d+(\.\d+)?\s*(B|[KMGTP]i?B|[KMGTP]|kB)\s*$",
            "description": "a size with a unit: 512MiB, 2GiB, 20G (binary), 20GB (decimal)",
        }
    ),
]


def _positive(value: int) -> int:
    if value <= 0:
        raise PydanticCustomError("value_error", "{reason}", {
            "reason": "a size of 0 bytes holds nothing", "hint": "give a size such as 10GiB"})
    return value


PositiveSize = Annotated[Size, AfterValidator(_positive)]
"""A size that must hold something: a disk, a volume, a guest's memory."""
Name = Annotated[str, StringConstraints(pattern=NAME_PATTERN)]
Identifier = Annotated[str, StringConstraints(pattern=r"^[A-Za-z_][A-Za-z0-9_]*$")]
"""Names of variables and outputs: letters, digits and underscores."""
MAC_RE = re.compile(r"^([0-9a-f]{2}:){5}[0-9a-f]{2}$")


def per_instance(check: Callable[[str], str]) -> Callable[[str], str]:
    """``check`` a value, or a template with ``${count.index}`` for each instance of a
    counted guest (``10.42.0.1${count.index}``): its shape is checked here with sample
    indexes, each instance's value once count is expanded (stack/macs_and_ips.py)."""

    def validate(value: str) -> str:
        deferred = deferred_namespaces(value)
        if not deferred:
            return check(value)
        if deferred != {"count"}:
            return value  # each.: checked per instance when its instances are made
        for sample in (0, 9):
            try:
                check(as_text(evaluate_deferred(value, count_lookup(sample))))
            except (ValueError, ExpressionError) as exc:
                reason = exc.message if isinstance(exc, ExpressionError) else exc
                raise ValueError(f"with ${{count.index}} = {sample}: {reason}") from None
        return value

    return validate


def _mac(value: str) -> str:
    if not MAC_RE.match(value):
        raise ValueError(f"'{value}' is not a MAC address such as 52:54:00:12:34:56 "
                         "(lower case)")
    return value


MacAddress = Annotated[
    str, AfterValidator(per_instance(_mac)),
    WithJsonSchema({"type": "string", "description": "a MAC address, 52:54:00:12:34:56",
                    "pattern": r"^(([0-9a-f]{2}:){5}[0-9a-f]{2}|.*\$\{.*\}.*)$"}),
]
Options = dict[str, Any]


def _canonical_network(value: str) -> str:
    try:
        return str(ipaddress.IPv4Network(value, strict=True))
    except ValueError as exc:
        raise ValueError(f"'{value}' is not an IPv4 subnet such as 10.42.0.0/24 ({exc})") from None


def _canonical_address(value: str) -> str:
    try:
        return str(ipaddress.IPv4Address(value))
    except ValueError:
        raise ValueError(f"'{value}' is not an IPv4 address such as 10.42.0.10") from None


def _port(value: str) -> str:
    if not value.isdigit() or not 1 <= int(value) <= 65535:
        raise ValueError(f"'{value}' is not a port number from 1 to 65535")
    return value


def _port_or_template(value: int | str) -> int | str:
    if isinstance(value, int):
        return int(_port(str(value)))
    return per_instance(_port)(value)


Port = Annotated[
    int | str, AfterValidator(_port_or_template),
    WithJsonSchema({"description": "a port number, 1-65535, or a template with "
                                   "${count.index} such as \"222${count.index}\"",
                    "anyOf": [{"type": "integer", "minimum": 1, "maximum": 65535},
                              {"type": "string"}]}),
]
"""A port: a number, or in a counted guest a ``${count.index}`` template of one."""
Cidr = Annotated[str, AfterValidator(_canonical_network)]
IPv4 = Annotated[
    str, AfterValidator(per_instance(_canonical_address)),
    WithJsonSchema({"type": "string", "description": "an IPv4 address, such as 10.42.0.10, "
                                                     "or a template with ${count.index}"}),
]
