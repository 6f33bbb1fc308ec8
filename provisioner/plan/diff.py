"""Three-way field diff: desired spec, live object, last applied spec.

- A desired value of None means "not managed": no diff, unless the last
  apply set it, in which case the user removed it and it is diffed to None.
- A field the provider cannot read back (absent from the live spec) is
  compared with the last applied value instead; with neither, it is not
  diffed (no perpetual diff after a lost state).
- ``lifecycle.ignore_changes`` paths and their children are never diffed.
- A value the hypervisor keeps when the stack stops declaring it (a NIC's MAC:
  the schema's ``kept``) is no change when its declaration goes away.
- A map the schema calls complete (a VM's platform flags) lists every key the object
  has: a declared key it lacks is a difference, not an unreadable value.
- A list the schema calls unordered (tags) is compared as a set, whole: one
  diff at its own path, whatever moved, and none when only the order differs.
- Each diff gets the effect the provider's schema gives its path, unless the
  resource overrides it (cloud_init.on_change); RESTART on a stopped guest, or
  on one the same change stops (``power: stopped``), is IN_PLACE, as nothing
  is restarted: the change is made while it is off.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from provisioner.core.resources import (
    Blob,
    Effect,
    LiveObject,
    Resource,
    from_plain,
    is_stored_blob,
)
from provisioner.plan.model import FieldDiff, items_not_in, same_value
from provisioner.providers.base import KindSchema
from provisioner.units import Bytes


class _Missing:
    def __repr__(self) -> str:
        return "(unknown)"


MISSING: Any = _Missing()


@dataclass
class DiffResult:
    fields: list[FieldDiff] = field(default_factory=list)
    shrinks: list[FieldDiff] = field(default_factory=list)
    """Diffs on grow-only fields that would shrink: the plan must refuse them."""


def diff_resource(
    desired: Resource,
    live: LiveObject,
    prior: Mapping[str, Any] | None,
    schema: KindSchema,
) -> DiffResult:
    """Field diffs between what is declared and what runs, in spec order.

    ``prior`` is the last applied spec as the store keeps it (``to_plain``: blobs as
    {label, digest}); only the parts compared are turned back into values, as the
    live spec usually has every field and a whole conversion per resource was a
    tenth of a large plan's time."""
    differ = _Differ(desired, live, schema)
    differ.walk("", desired.spec, live.spec, prior if prior is not None else MISSING)
    return differ.result


def runs_through(desired: Resource, live: LiveObject) -> bool | None:
    """Whether the guest runs before and after the change (None: not known, or not
    a guest): only then does a RESTART field restart it. A guest the change stops
    is changed while off and stays off."""
    if live.running and desired.spec.get("power") == "stopped":
        return False
    return live.running


class _Differ:
    def __init__(self, desired: Resource, live: LiveObject, schema: KindSchema) -> None:
        self.ignored = tuple(desired.lifecycle.ignore_changes)
        self.overrides = desired.effect_overrides
        self.filtered = bool(self.ignored or self.overrides)
        self.schema = schema
        self.running = runs_through(desired, live)
        self.live = live
        self.result = DiffResult()

    def walk(self, path: str, want: Any, have: Any, prior: Any) -> None:
        """``prior`` is stored (plain) and converted where it stands in for ``have``."""
        if self.filtered and path and self._skipped(path):
            return
        known = have if have is not MISSING else from_plain(prior)
        if type(want) in _LEAVES:  # most fields: no ABC checks below
            if known is not MISSING and not _equal(want, known):
                self._record(path, known, want)
            return
        if want is None:
            if prior is not MISSING and prior is not None and known not in (None, MISSING) \
                    and not self.schema.keeps(path):
                self._record(path, known, None)
            return
        if isinstance(want, list) and isinstance(known, list):
            if self.schema.is_unordered(path):
                if items_not_in(want, known) or items_not_in(known, want):
                    self._record(path, known, want)
            else:
                self._walk_list(path, want, have, known, prior)
        elif _is_mapping(want) and _is_mapping(known):
            self._walk_mapping(path, want, have, prior)
        elif known is not MISSING and not _equal(want, known):
            self._record(path, known, want)

    def _skipped(self, path: str) -> bool:
        return _covered(path, self.ignored) or self._override(path) is _NEVER

    def _walk_mapping(self, path: str, want: Mapping[str, Any], have: Any, prior: Any) -> None:
        prefix = f"{path}." if path else ""
        have_map = have if _is_mapping(have) else _EMPTY
        prior_map = prior if _is_mapping(prior) and not is_stored_blob(prior) else _EMPTY
        absent = None if have_map is not _EMPTY and self.schema.is_complete(path) else MISSING
        for key, value in want.items():
            live = have_map.get(key, absent)
            if type(value) in _LEAVES and live is not MISSING and not self.filtered:
                # walk()'s first case, inline: most leaves are readable scalars
                if not _equal(value, live):
                    self._record(f"{prefix}{key}", live, value)
                continue
            self.walk(f"{prefix}{key}", value, live, prior_map.get(key, MISSING))
        for key, before in prior_map.items():
            if key not in want:  # declared at the last apply, not any more: a removal
                self.walk(f"{prefix}{key}", None, have_map.get(key, MISSING), before)

    def _walk_list(
        self, path: str, want: Sequence[Any], have: Any, known: Sequence[Any], prior: Any
    ) -> None:
        for index in range(max(len(want), len(known))):
            item_path = f"{path}[{index}]"
            if index >= len(known):
                self._record(item_path, None, want[index])
            elif index >= len(want):
                if not _covered(item_path, self.ignored):
                    self._record(item_path, known[index], None)
            else:
                self.walk(item_path, want[index], _item(have, index), _item(prior, index))

    def _override(self, path: str) -> Effect | object | None:
        for prefix, effect in self.overrides.items():
            if path == prefix or path.startswith((prefix + ".", prefix + "[")):
                return _NEVER if effect is None else effect
        return _NO_OVERRIDE

    def _record(self, path: str, before: Any, after: Any) -> None:
        override = self._override(path)
        rule = self.schema.rule_for(path)
        effect = override if isinstance(override, Effect) else rule.effect
        if not isinstance(override, Effect) and self.schema.refine is not None:
            effect = self.schema.refine(path, before, after, self.live) or effect
        if effect is Effect.RESTART and self.running is False:
            effect = Effect.IN_PLACE
        unordered = self.schema.is_unordered(path) and _list_or_none(before) and \
            _list_or_none(after)
        diff = FieldDiff(path, before, after, effect, unordered)
        self.result.fields.append(diff)
        if rule.grow_only and isinstance(before, int) and isinstance(after, int) and after < before:
            self.result.shrinks.append(diff)


_NEVER = object()
_NO_OVERRIDE = object()
_EMPTY: Mapping[str, Any] = {}
_LEAVES = frozenset({str, int, float, bool, Bytes, Blob})
"""Leaf types, tested by type: a plan walks every field of every resource, and the
``Mapping`` ABC checks were most of the walk's time. (Any value that is neither a
mapping nor a list is compared whole; these are the common ones.)"""


def _covered(path: str, prefixes: tuple[str, ...]) -> bool:
    if not prefixes:
        return False
    return any(path == p or path.startswith((p + ".", p + "[")) for p in prefixes)


def _is_mapping(value: Any) -> bool:
    return type(value) is dict or (value is not MISSING and isinstance(value, Mapping))


def _item(value: Any, index: int) -> Any:
    if isinstance(value, list) and index < len(value):
        return value[index]
    return MISSING


_equal = same_value


def _list_or_none(value: Any) -> bool:
    return value is None or isinstance(value, list)


def changed_paths(fields: Sequence[FieldDiff]) -> list[str]:
    return [diff.path for diff in fields]
