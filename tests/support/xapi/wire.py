"""Values between XML-RPC (as xmlrpc.client decodes them) and the store.

Decoding follows XAPI's unmarshallers (ocaml-rpc and the generated xapi-types
code): an ``int`` may arrive as an XML-RPC int or a decimal string; a ``float``
as a double, an int or a string; ``bool`` only as a boolean; ``string`` and
refs only as strings; ``datetime`` as dateTime.iso8601 or a string; enums
as strings matched case-insensitively; sets as arrays; maps and records as
structs.  Anything else is refused as XAPI refuses it: INTERNAL_ERROR carrying
the unmarshaller's failure text (XAPI wraps the OCaml ``Failure``).

Encoding follows XAPI's marshallers: ``int`` travels as a string, floats as
doubles, refs and enums as strings, sets as arrays, maps as structs (keys as
strings), datetimes as dateTime.iso8601.
"""

from __future__ import annotations

import datetime as dt
import xmlrpc.client
from typing import Any

from .errors import internal_error
from .model import Model, TypeSpec

NULL_REF = "OpaqueRef:NULL"
EPOCH = "19700101T00:00:00Z"


def show(value: Any) -> str:
    """ocaml-rpc's debug rendering of a value (used in failure texts)."""
    if isinstance(value, bool):
        return f"B({str(value).lower()})"
    if isinstance(value, int):
        return f"I({value})"
    if isinstance(value, float):
        return f"F({value:g})"
    if isinstance(value, str):
        return f"S({value})"
    if isinstance(value, xmlrpc.client.DateTime):
        return f"D({value.value})"
    if isinstance(value, list | tuple):
        return "[" + ";".join(show(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{" + ";".join(f"{k}:{show(v)}" for k, v in value.items()) + "}"
    if value is None:
        return "N"
    return repr(value)


def _fail(expected: str, value: Any) -> Exception:
    return internal_error(f"Failure(\"Expected {expected}, got '{show(value)}'\")")


def decode(model: Model, ty: TypeSpec, value: Any) -> Any:  # noqa: PLR0912
    """A wire value of type ``ty`` as the store keeps it, or the XAPI refusal."""
    kind = ty.kind
    if kind == "int":
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        if isinstance(value, str):
            try:
                return int(value.strip(), 0) if value.strip().lower().startswith(("0x", "0o",
                    "0b")) else int(value)
            except ValueError:
                raise _fail("int64", value) from None
        raise _fail("int64", value)
    if kind == "float":
        if isinstance(value, int | float) and not isinstance(value, bool):
            return float(value)
        if isinstance(value, str):
            try:
                return float(value)
            except ValueError:
                raise _fail("float", value) from None
        raise _fail("float", value)
    if kind == "bool":
        if isinstance(value, bool):
            return value
        raise _fail("bool", value)
    if kind in ("string", "ref"):
        if isinstance(value, str):
            return value
        raise _fail("string", value)
    if kind == "datetime":
        if isinstance(value, xmlrpc.client.DateTime):
            return value.value
        if isinstance(value, str):
            return value
        raise internal_error("Failure(\"Date.t_of_rpc\")")
    if kind == "enum":
        if isinstance(value, str):
            for name in model.enum_values(ty.name):
                if name.lower() == value.lower():
                    return name
        raise internal_error(f"Failure(\"Unmarshalling error in {ty.name}: {show(value)}\")")
    if kind == "set":
        if isinstance(value, list | tuple):
            assert ty.of is not None
            return [decode(model, ty.of, v) for v in value]
        raise _fail("array", value)
    if kind == "map":
        if isinstance(value, dict):
            assert ty.key is not None and ty.of is not None
            return {str(decode_key(model, ty.key, k)): decode(model, ty.of, v)
                    for k, v in value.items()}
        raise internal_error("Failure(\"Unmarshalling error\")")
    if kind in ("record", "struct"):
        if isinstance(value, dict):
            return value
        raise internal_error("Failure(\"Expected Dictionary\")")
    return value


def decode_key(model: Model, ty: TypeSpec, key: str) -> Any:
    """Map keys always travel as struct member names (strings)."""
    return decode(model, ty, key)


def encode(model: Model, ty: TypeSpec, value: Any) -> Any:
    """A stored value as XAPI puts it on the wire."""
    kind = ty.kind
    if kind == "int":
        return str(int(value))
    if kind == "float":
        return float(value)
    if kind == "bool":
        return bool(value)
    if kind == "datetime":
        if isinstance(value, dt.datetime):
            return xmlrpc.client.DateTime(value.strftime("%Y%m%dT%H:%M:%SZ"))
        return xmlrpc.client.DateTime(str(value or EPOCH))
    if kind == "set":
        assert ty.of is not None
        return [encode(model, ty.of, v) for v in value]
    if kind == "map":
        assert ty.of is not None
        return {str(k): encode(model, ty.of, v) for k, v in value.items()}
    if kind == "record":
        return encode_record(model, ty.name, value)
    if kind == "void":
        return ""
    return value


def encode_record(model: Model, cls: str, record: dict[str, Any]) -> dict[str, Any]:
    """A record as XAPI sends it: fields the model lists as removed are left out."""
    fields = model.cls(cls).fields
    return {name: encode(model, fields[name].type, value)
            for name, value in record.items()
            if name in fields and fields[name].lifecycle != "Removed_s"}


def zero(model: Model, ty: TypeSpec) -> Any:
    """The value a field without a model default starts with."""
    return {
        "int": 0, "float": 0.0, "bool": False, "string": "", "datetime": EPOCH,
        "ref": NULL_REF, "set": [], "map": {},
    }.get(ty.kind, model.enum_values(ty.name)[0] if ty.kind == "enum" else "")


def now() -> str:
    return dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H:%M:%SZ")
