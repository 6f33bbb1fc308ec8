"""The object store: every XAPI object as a record, both sides of relations, and
the change log event.from reads.

All access happens under ``store.lock`` (an RLock); ``store.changed`` is a
Condition on it that is notified on every change.
"""

from __future__ import annotations

import copy
import threading
import uuid as uuidlib
from dataclasses import dataclass
from typing import Any

from .errors import XapiError, handle_invalid
from .model import Model
from .wire import NULL_REF, encode_record, zero

# (class, ref field) <-> (class, set field): XAPI keeps the set side current
# whenever the ref side changes (datamodel "relations").
RELATIONS: tuple[tuple[tuple[str, str], tuple[str, str]], ...] = (
    (("VBD", "VM"), ("VM", "VBDs")),
    (("VBD", "VDI"), ("VDI", "VBDs")),
    (("VIF", "VM"), ("VM", "VIFs")),
    (("VIF", "network"), ("network", "VIFs")),
    (("VDI", "SR"), ("SR", "VDIs")),
    (("PBD", "SR"), ("SR", "PBDs")),
    (("PBD", "host"), ("host", "PBDs")),
    (("PIF", "network"), ("network", "PIFs")),
    (("PIF", "host"), ("host", "PIFs")),
    (("VM", "resident_on"), ("host", "resident_VMs")),
    (("VM", "parent"), ("VM", "children")),
    (("VM", "snapshot_of"), ("VM", "snapshots")),
    (("console", "VM"), ("VM", "consoles")),
    (("VM", "appliance"), ("VM_appliance", "VMs")),
    (("host_cpu", "host"), ("host", "host_CPUs")),
    (("VLAN", "tagged_PIF"), ("PIF", "VLAN_slave_of")),
    (("task", "subtask_of"), ("task", "subtasks")),
    (("session", "parent"), ("session", "tasks")),
)


@dataclass
class ObjectMeta:
    cls: str
    created: int
    modified: int


@dataclass
class Deletion:
    cls: str
    ref: str
    generation: int


class ObjectStore:
    def __init__(self, model: Model) -> None:
        self.model = model
        self.lock = threading.RLock()
        self.changed = threading.Condition(self.lock)
        self.tables: dict[str, dict[str, dict[str, Any]]] = {c: {} for c in model.classes}
        self.meta: dict[str, ObjectMeta] = {}
        self.deletions: list[Deletion] = []
        self.generation = 0
        self._forward: dict[tuple[str, str], tuple[str, str]] = {}
        self._backward: dict[tuple[str, str], tuple[str, str]] = {}
        for one, many in RELATIONS:
            if one[1] in model.cls(one[0]).fields and many[1] in model.cls(many[0]).fields:
                self._forward[one] = many
                self._backward[many] = one

    # ---- lookup -------------------------------------------------------------
    def class_of(self, ref: str) -> str | None:
        meta = self.meta.get(ref)
        return meta.cls if meta else None

    def exists(self, cls: str, ref: str) -> bool:
        return ref in self.tables[cls]

    def get(self, cls: str, ref: str) -> dict[str, Any]:
        """The live record (callers hold the lock and must not keep it)."""
        record = self.tables[cls].get(ref)
        if record is None:
            raise handle_invalid(cls, ref)
        return record

    def snapshot(self, cls: str, ref: str) -> dict[str, Any]:
        return copy.deepcopy(self.get(cls, ref))

    def wire_record(self, cls: str, ref: str) -> dict[str, Any]:
        return encode_record(self.model, cls, self.get(cls, ref))

    def all(self, cls: str) -> dict[str, dict[str, Any]]:
        return self.tables[cls]

    def by_uuid(self, cls: str, uuid: str) -> str:
        for ref, record in self.tables[cls].items():
            if record.get("uuid") == uuid:
                return ref
        raise XapiError("UUID_INVALID", cls, uuid)

    def find(self, cls: str, **match: Any) -> list[str]:
        return [ref for ref, rec in self.tables[cls].items()
                if all(rec.get(k) == v for k, v in match.items())]

    # ---- change -------------------------------------------------------------
    def _bump(self, ref: str) -> None:
        self.generation += 1
        self.meta[ref].modified = self.generation
        self.changed.notify_all()

    def new(self, cls: str, fields: dict[str, Any], ref: str | None = None) -> str:
        """Create an object: model defaults (or zero values) for every field not given."""
        cdef = self.model.cls(cls)
        unknown = set(fields) - set(cdef.fields)
        if unknown:
            raise ValueError(f"{cls} has no fields {sorted(unknown)}")
        ref = ref or f"OpaqueRef:{uuidlib.uuid4()}"
        record: dict[str, Any] = {}
        for name, fdef in cdef.fields.items():
            if name in fields:
                record[name] = copy.deepcopy(fields[name])
            elif fdef.has_default:
                record[name] = copy.deepcopy(fdef.default)
            else:
                record[name] = zero(self.model, fdef.type)
        if "uuid" in cdef.fields and not record.get("uuid"):
            record["uuid"] = str(uuidlib.uuid4())
        self.generation += 1
        self.tables[cls][ref] = record
        self.meta[ref] = ObjectMeta(cls, self.generation, self.generation)
        for name, value in record.items():
            self._link(cls, ref, name, value)
        self.changed.notify_all()
        return ref

    def set(self, cls: str, ref: str, name: str, value: Any) -> None:
        record = self.get(cls, ref)
        old = record.get(name)
        if old == value:
            return
        self._unlink(cls, ref, name, old)
        record[name] = copy.deepcopy(value)
        self._link(cls, ref, name, value)
        self._bump(ref)

    def update(self, cls: str, ref: str, **values: Any) -> None:
        for name, value in values.items():
            self.set(cls, ref, name, value)

    def touch(self, ref: str) -> None:
        if ref in self.meta:
            self._bump(ref)

    def destroy(self, cls: str, ref: str) -> None:
        record = self.get(cls, ref)
        for name, value in record.items():
            self._unlink(cls, ref, name, value)
        del self.tables[cls][ref]
        del self.meta[ref]
        self.generation += 1
        self.deletions.append(Deletion(cls, ref, self.generation))
        self.changed.notify_all()

    def _link(self, cls: str, ref: str, name: str, value: Any) -> None:
        target = self._forward.get((cls, name))
        if target and value != NULL_REF and value in self.tables[target[0]]:
            other = self.tables[target[0]][value]
            if ref not in other[target[1]]:
                other[target[1]].append(ref)
                self._bump(value)

    def _unlink(self, cls: str, ref: str, name: str, value: Any) -> None:
        target = self._forward.get((cls, name))
        if target and value in self.tables[target[0]]:
            other = self.tables[target[0]][value]
            if ref in other[target[1]]:
                other[target[1]].remove(ref)
                self._bump(value)
