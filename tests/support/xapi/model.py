"""XAPI's data model (classes, fields, messages, enums, errors) loaded from model.json.

model.json is derived from xen-api's doc/data/xenapi.json by derive_model.py;
nothing here is a hand-written list of calls.  The published model already
lists the implicit messages (get_X, set_X, add_to_X, get_record, get_all, ...)
with ``implicit: true``; :meth:`ClassDef.implicit_messages_expected` recomputes
the ones the field qualifiers imply so a test can check the two agree.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

MODEL_PATH = Path(__file__).with_name("model.json")

REMOVED = "Removed_s"
DEPRECATED = "Deprecated_s"


@dataclass(frozen=True)
class TypeSpec:
    """A parsed XAPI type: kind is one of the scalar names, 'ref', 'enum', 'set',
    'map' or 'record'."""

    kind: str
    name: str = ""  # class of a ref/record, enum name
    of: TypeSpec | None = None  # element of a set, value of a map
    key: TypeSpec | None = None  # key of a map

    def __str__(self) -> str:
        return self.text

    @property
    def text(self) -> str:
        if self.kind == "ref":
            return f"{self.name} ref"
        if self.kind == "record":
            return f"{self.name} record"
        if self.kind == "enum":
            return f"enum {self.name}"
        if self.kind == "set":
            return f"{self.of} set"
        if self.kind == "map":
            return f"({self.key} -> {self.of}) map"
        return self.kind


SCALARS = ("string", "int", "float", "bool", "datetime", "void")
_MAP = re.compile(r"^\((.+?) -> (.+)\) map$")


@cache
def parse_type(text: str) -> TypeSpec:
    text = text.strip()
    match = _MAP.match(text)
    if match:
        return TypeSpec("map", key=parse_type(match.group(1)), of=parse_type(match.group(2)))
    if text.endswith(" set"):
        return TypeSpec("set", of=parse_type(text[: -len(" set")]))
    if text.startswith("enum "):
        return TypeSpec("enum", name=text[len("enum "):])
    if text.endswith(" ref"):
        return TypeSpec("ref", name=text[: -len(" ref")])
    if text.endswith(" record"):
        return TypeSpec("record", name=text[: -len(" record")])
    if text in SCALARS:
        return TypeSpec(text)
    # results such as "an event batch" are opaque structures
    return TypeSpec("struct", name=text)


@dataclass(frozen=True)
class FieldDef:
    name: str
    type: TypeSpec
    qualifier: str  # "RW", "RO/constructor" or "RO/runtime"
    lifecycle: str
    has_default: bool
    default: Any

    @property
    def writable(self) -> bool:
        return self.qualifier == "RW"

    @property
    def in_constructor(self) -> bool:
        return self.qualifier in ("RW", "RO/constructor")


@dataclass(frozen=True)
class MessageDef:
    cls: str
    name: str
    params: tuple[tuple[str, TypeSpec], ...]
    result: TypeSpec
    errors: tuple[str, ...]
    roles: tuple[str, ...]
    lifecycle: str
    implicit: bool

    @property
    def wire_name(self) -> str:
        return f"{self.cls}.{self.name}"

    @property
    def takes_session(self) -> bool:
        return bool(self.params) and self.params[0][1] == TypeSpec("ref", name="session")

    @property
    def args(self) -> tuple[tuple[str, TypeSpec], ...]:
        """The parameters after the session."""
        return self.params[1:] if self.takes_session else self.params

    @property
    def removed(self) -> bool:
        return self.lifecycle == REMOVED


@dataclass
class ClassDef:
    name: str
    lifecycle: str
    fields: dict[str, FieldDef] = field(default_factory=dict)
    messages: dict[str, MessageDef] = field(default_factory=dict)

    def implicit_messages_expected(self) -> set[str]:
        """Accessor names the field qualifiers imply (what XAPI generates)."""
        names = {"get_record", "get_all", "get_all_records", "get_by_uuid"}
        if "name_label" in self.fields:
            names.add("get_by_name_label")
        for f in self.fields.values():
            names.add(f"get_{f.name}")
            if f.writable:
                names.add(f"set_{f.name}")
                if f.type.kind == "map":
                    names.update({f"add_to_{f.name}", f"remove_from_{f.name}"})
                elif f.type.kind == "set":
                    names.update({f"add_{f.name}", f"remove_{f.name}"})
        return names


class Model:
    def __init__(self, data: dict[str, Any]) -> None:
        self.source: dict[str, str] = data["source"]
        self.enums: dict[str, list[str]] = data["enums"]
        self.error_names: frozenset[str] = frozenset(data["errors"])
        self.classes: dict[str, ClassDef] = {}
        for cname, craw in data["classes"].items():
            cdef = ClassDef(cname, craw["lifecycle"])
            for fname, fraw in craw["fields"].items():
                cdef.fields[fname] = FieldDef(
                    fname, parse_type(fraw["type"]), fraw["qualifier"], fraw["lifecycle"],
                    "default" in fraw, fraw.get("default"))
            for mname, mraw in craw["messages"].items():
                cdef.messages[mname] = MessageDef(
                    cname, mname,
                    tuple((p, parse_type(t)) for p, t in mraw["params"]),
                    parse_type(mraw["result"]), tuple(mraw["errors"]), tuple(mraw["roles"]),
                    mraw["lifecycle"], mraw["implicit"])
            self.classes[cname] = cdef
        self._lower = {name.lower(): name for name in self.classes}

    def cls(self, name: str) -> ClassDef:
        return self.classes[name]

    def class_of_lower(self, lower: str) -> str | None:
        """The class whose event name (lowercased class name) this is."""
        return self._lower.get(lower.lower())

    def message(self, wire_name: str) -> MessageDef | None:
        cname, _, mname = wire_name.partition(".")
        cdef = self.classes.get(cname)
        return cdef.messages.get(mname) if cdef else None

    def all_wire_names(self) -> list[str]:
        return sorted(m.wire_name for c in self.classes.values() for m in c.messages.values())

    def enum_values(self, name: str) -> list[str]:
        return self.enums[name]

    def roles(self) -> set[str]:
        return {r for c in self.classes.values() for m in c.messages.values() for r in m.roles}


@cache
def load_model(path: Path = MODEL_PATH) -> Model:
    with open(path, encoding="utf-8") as fh:
        return Model(json.load(fh))
