"""Which fields an update touches, and the spec it writes.

``update(resource, live, changed)`` gets the diff paths the plan listed
(``cpus``, ``disks[1].size``, ``options.tags``). A provider changes those and
nothing else: fields left out of ``changed`` (``lifecycle.ignore_changes``)
keep the value the object has now (``only_changed``), and a setting is written
only when a changed path touches it (``touched``). The guest is powered off for
an update exactly when the plan said "requires restart" (``needs_halt``). Pure.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Mapping, Sequence
from dataclasses import replace
from typing import Any

from provisioner.core.resources import PROTECTION_PATH, Effect, LiveObject, Resource
from provisioner.providers.base import KindSchema

_FIELD_SPLIT = re.compile(r"[.\[]")
_PATH_PARTS = re.compile(r"[^.\[\]]+|\[\d+\]")


def within(path: str, prefix: str) -> bool:
    """Whether ``path`` is ``prefix`` or below it (``disks[0].size`` is within ``disks``)."""
    return path == prefix or path.startswith((prefix + ".", prefix + "["))


def touched(path: str, changed: Collection[str]) -> bool:
    """Whether a change of one of the ``changed`` paths changes ``path``: one is
    within the other (``options`` touches ``options.notes``, and the other way)."""
    return any(within(p, path) or within(path, p) for p in changed)


def field_of(path: str) -> str:
    """The top-level field a path is in: ``disks`` for ``disks[1].size``."""
    return _FIELD_SPLIT.split(path, maxsplit=1)[0]


def only_changed(resource: Resource, live: LiveObject | None,
                 changed: Collection[str] | None) -> Resource:
    """The resource as an update must write it: top-level fields ``changed`` does not
    name (such as ``lifecycle.ignore_changes`` ones) keep the value the object has now.
    A create (no ``live``, no ``changed``) writes the resource as declared."""
    if live is None or changed is None:
        return resource
    fields = {field_of(path) for path in changed}
    spec = {key: value if key in fields or key not in live.spec else live.spec[key]
            for key, value in resource.spec.items()}
    return replace(resource, spec=spec)


def value_at(spec: Any, path: str) -> Any:
    """The value at a diff path (``networks[0].mac``) of a spec; None where it has none."""
    value = spec
    for part in _PATH_PARTS.findall(path):
        if part.startswith("["):
            index = int(part[1:-1])
            value = value[index] if isinstance(value, list) and index < len(value) else None
        else:
            value = value.get(part) if isinstance(value, Mapping) else None
    return value


def effect_of(schema: KindSchema, path: str, live: LiveObject,
              desired: Mapping[str, Any]) -> Effect:
    """The effect the plan gave a change of ``path`` from ``live`` to ``desired``: the
    field's rule, refined by the values (what the plan said, so what update must do)."""
    rule = schema.rule_for(path).effect
    if schema.refine is None:
        return rule
    return schema.refine(path, value_at(live.spec, path), value_at(desired, path), live) \
        or rule


def needs_halt(schema: KindSchema, changed: Sequence[str], live: LiveObject,
               desired: Mapping[str, Any]) -> bool:
    """Whether an update must power the guest off for ``changed``: a field whose effect
    the plan gave is not "in place" (``power`` and the protection mark aside, and a
    kept value no longer declared: it does not change)."""
    return any(effect_of(schema, path, live, desired) is not Effect.IN_PLACE
               for path in changed if path not in ("power", PROTECTION_PATH)
               and not (value_at(desired, path) is None and schema.keeps(path)))
