"""The implicit messages XAPI generates from the field list: get_record,
get_all(_records), get_by_uuid, get_by_name_label, get_X, set_X, add_to_X /
remove_from_X (maps), add_X / remove_X (sets), and the generic constructor and
destructor.  Which of them exist per class comes from the model alone."""

from __future__ import annotations

from typing import Any

from .errors import XapiError, internal_error
from .model import ClassDef, MessageDef
from .registry import CallContext
from .wire import decode


def constructor_fields(ctx: CallContext, cls: str, record: dict[str, Any]) -> dict[str, Any]:
    """The RW and RO/constructor fields of a create record, decoded; model
    defaults for absent ones that have a default; XAPI's refusal
    (INTERNAL_ERROR Dispatcher_FieldNotFound) for an absent one without."""
    cdef = ctx.model.cls(cls)
    fields: dict[str, Any] = {}
    for name, fdef in cdef.fields.items():
        if not fdef.in_constructor or name == "uuid":
            continue
        if name in record:
            fields[name] = decode(ctx.model, fdef.type, record[name])
        elif fdef.has_default or fdef.lifecycle == "Removed_s":
            continue
        else:
            raise internal_error(f'Server_helpers.Dispatcher_FieldNotFound("{name}")')
    return fields


def run_implicit(ctx: CallContext, args: list[Any]) -> Any:
    msg: MessageDef = ctx.message
    cls = msg.cls
    cdef: ClassDef = ctx.model.cls(cls)
    store = ctx.store
    name = msg.name
    if name == "get_all":
        return list(store.all(cls))
    if name == "get_all_records":
        return {ref: store.snapshot(cls, ref) for ref in store.all(cls)}
    if name == "get_record":
        return store.snapshot(cls, args[0])
    if name == "get_by_uuid":
        return store.by_uuid(cls, args[0])
    if name == "get_by_name_label":
        return store.find(cls, name_label=args[0])
    if name == "create":
        return store.new(cls, constructor_fields(ctx, cls, args[0]))
    if name == "destroy":
        store.destroy(cls, args[0])
        return None
    for prefix in ("get_", "set_", "add_to_", "remove_from_", "add_", "remove_"):
        if name.startswith(prefix) and name[len(prefix):] in cdef.fields:
            field = name[len(prefix):]
            return _field_accessor(ctx, prefix, field, args)
    raise XapiError("MESSAGE_METHOD_UNKNOWN", msg.wire_name)


def _field_accessor(ctx: CallContext, prefix: str, field: str, args: list[Any]) -> Any:
    cls = ctx.message.cls
    store = ctx.store
    ref = args[0]
    record = store.get(cls, ref)
    value = record[field]
    if prefix == "get_":
        return value
    if prefix == "set_":
        store.set(cls, ref, field, args[1])
    elif prefix == "add_to_":
        key, item = args[1], args[2]
        if key in value:
            raise XapiError("MAP_DUPLICATE_KEY", cls, field, record.get("uuid", ref), key)
        store.set(cls, ref, field, {**value, key: item})
    elif prefix == "remove_from_":
        store.set(cls, ref, field, {k: v for k, v in value.items() if k != args[1]})
    elif prefix == "add_":
        if args[1] not in value:
            store.set(cls, ref, field, [*value, args[1]])
    elif prefix == "remove_":
        store.set(cls, ref, field, [v for v in value if v != args[1]])
    return None
