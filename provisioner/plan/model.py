"""A plan: one Change per address, and the ordered Steps that carry them out.

A Change says what happens to one resource and why (``{action, before,
after}`` plus field diffs); a Step is one provider call the executor makes.
A REPLACE is two steps (delete and create) whose order is part of the action.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from provisioner.core.address import Address
from provisioner.core.resources import Effect, LiveObject, Resource


class Action(StrEnum):
    """What the plan does to one resource."""

    NOOP = "no-op"
    CREATE = "create"
    UPDATE = "update"
    REPLACE = "replace"
    DELETE = "delete"

    @property
    def symbol(self) -> str:
        return {"no-op": " ", "create": "+", "update": "~", "replace": "-/+", "delete": "-"}[
            self.value
        ]

    @property
    def is_change(self) -> bool:
        return self is not Action.NOOP

    @property
    def destroys(self) -> bool:
        return self in (Action.REPLACE, Action.DELETE)


class ReplaceOrder(StrEnum):
    """How a replacement sequences its two steps."""

    DELETE_FIRST = "delete, then create"
    CREATE_FIRST = "create, then delete"

    @property
    def symbol(self) -> str:
        return "-/+" if self is ReplaceOrder.DELETE_FIRST else "+/-"


class Operation(StrEnum):
    """One provider call made by the executor."""

    CREATE = "create"
    UPDATE = "update"
    DELETE = "delete"

    @property
    def progressive(self) -> str:
        return {"create": "creating", "update": "updating", "delete": "deleting"}[self.value]

    @property
    def past(self) -> str:
        return {"create": "created", "update": "updated", "delete": "deleted"}[self.value]


class Cause(StrEnum):
    """What led to a change, for the code that decides by it (renderers print ``reason``)."""

    NEW = "new"
    """Declared and not on the hypervisor."""
    VANISHED = "vanished"
    """Applied before, and gone from the hypervisor: deleted outside provisioner."""
    FIELDS = "fields"
    """Declared fields differ from the live ones (the field lines say which)."""
    REATTACH = "reattach"
    """Unchanged itself, it refers to a resource the plan replaces."""
    MOVED = "moved"
    """Its provider changed."""
    REQUESTED = "requested"
    """``--replace`` named it."""
    REMOVED = "removed"
    """No longer declared (or not the object its address keeps: see ``Stray``)."""
    UP_TO_DATE = "up-to-date"
    GONE = "gone"
    """Neither declared nor on the hypervisor."""


class Stray(StrEnum):
    """Why an object is deleted beside (or instead of) its address's own change: it is
    not the object the address keeps."""

    DUPLICATE = "duplicate"
    """A second object tagged with a declared address (the first found is kept)."""
    LEFTOVER = "leftover"
    """Pieces an interrupted run left (a guest's disks without the guest): deleted,
    whatever the stack says, before anything is created at the same address."""


@dataclass(frozen=True)
class FieldDiff:
    """One field that differs: ``path`` like ``disks[1].size``, values before and after."""

    path: str
    before: Any
    after: Any
    effect: Effect
    unordered: bool = False
    """The field is a set (``KindSchema.unordered``): read ``added`` and ``removed``."""

    @property
    def added(self) -> tuple[Any, ...]:
        """Items of a set the change adds (none for other fields)."""
        return items_not_in(self.after, self.before) if self.unordered else ()

    @property
    def removed(self) -> tuple[Any, ...]:
        """Items of a set the change removes (none for other fields)."""
        return items_not_in(self.before, self.after) if self.unordered else ()


def same_value(one: Any, other: Any) -> bool:
    """Equal, with booleans apart from numbers (``True`` is not ``1`` in a spec)."""
    if isinstance(one, bool) or isinstance(other, bool):
        return type(one) is type(other) and one == other
    return bool(one == other)


def items_not_in(items: Sequence[Any] | None, others: Sequence[Any] | None) -> tuple[Any, ...]:
    """The items of ``items`` that ``others`` lacks, once each, in order: a set
    difference that works for items that cannot be hashed (mappings). None is empty."""
    found: list[Any] = []
    for item in items or ():
        if not any(same_value(item, other) for other in [*(others or ()), *found]):
            found.append(item)
    return tuple(found)


@dataclass(frozen=True)
class Change:
    """What happens to one resource, and why."""

    address: Address
    provider: str
    action: Action
    reason: str = ""
    fields: tuple[FieldDiff, ...] = ()
    replace_order: ReplaceOrder | None = None
    desired: Resource | None = None
    live: LiveObject | None = None
    old_deps: tuple[Address, ...] = ()
    """What the existing object depended on (from state or the object): deletes
    must run before the deletes of these."""
    stray: Stray | None = None
    """Set when the change deletes an object that is not the address's own."""
    cause: Cause | None = None
    """What led to it (``reason`` is the same in words)."""

    @property
    def leftover(self) -> bool:
        """Whether it deletes pieces an interrupted run left."""
        return self.stray is Stray.LEFTOVER

    @property
    def requires_restart(self) -> bool:
        return self.action is Action.UPDATE and any(
            f.effect is Effect.RESTART for f in self.fields
        )

    @property
    def symbol(self) -> str:
        if self.action is Action.REPLACE and self.replace_order is not None:
            return self.replace_order.symbol
        return self.action.symbol

    @property
    def key(self) -> str:
        """Unique within a plan: the address, plus the live id for the deletes of
        duplicates and leftovers (the address may also have its own change)."""
        if self.desired is None and self.live is not None and self.stray is not None:
            return f"{self.address}#{self.live.id}"
        return str(self.address)


@dataclass(frozen=True)
class Step:
    """One provider call: ``create guests.web-0``."""

    operation: Operation
    change: Change

    @property
    def key(self) -> str:
        return f"{self.operation.value} {self.change.key}"

    @property
    def address(self) -> Address:
        return self.change.address


@dataclass(frozen=True)
class Summary:
    add: int = 0
    change: int = 0
    destroy: int = 0

    @property
    def empty(self) -> bool:
        return not (self.add or self.change or self.destroy)


class Fingerprints(Mapping[str, str]):
    """``address#id`` → fingerprint of each live object, computed on first use.

    Only a saved plan reads them (``plan -o``, ``apply FILE``), and hashing every
    object's spec was a seventh of a 10,000-guest plan's planning time.
    """

    def __init__(self, objects: Iterable[LiveObject]) -> None:
        self._objects: tuple[LiveObject, ...] | None = tuple(objects)
        self._digests: dict[str, str] = {}

    def _computed(self) -> dict[str, str]:
        if self._objects is not None:
            self._digests = {f"{obj.address}#{obj.id}": obj.fingerprint()
                             for obj in self._objects}
            self._objects = None
        return self._digests

    def __getitem__(self, key: str) -> str:
        return self._computed()[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._computed())

    def __len__(self) -> int:
        return len(self._computed())

    def __repr__(self) -> str:
        return f"Fingerprints({self._computed()!r})"


@dataclass(frozen=True)
class SnapshotNote:
    """A guest of the plan whose snapshots (as the state records them) hold space."""

    address: Address
    count: int
    size: int | None
    """Bytes they held when taken, None when a provider did not say for one of them."""
    deleted: Action | None = None
    """DELETE or REPLACE when the plan deletes the guest: its snapshots go with it."""

    @property
    def text(self) -> str:
        """``guests.web-0 keeps 2 snapshots (1.2GiB): they hold disk space until deleted``."""
        from provisioner.units import rough_size

        one = self.count == 1
        held = f"{self.count} snapshot{'' if one else 's'}"
        if self.size is not None:
            held += f" ({rough_size(self.size)})"
        if self.deleted is Action.REPLACE:
            return f"{self.address} is replaced: its {held} {'is' if one else 'are'} " \
                "deleted with it"
        if self.deleted is Action.DELETE:
            return f"{self.address} is deleted with its {held}"
        return f"{self.address} keeps {held}: {'it holds' if one else 'they hold'} disk " \
            "space until deleted"


@dataclass(frozen=True)
class Plan:
    """Everything ``apply`` needs and ``render`` shows. Same inputs, same plan."""

    stack: str
    changes: tuple[Change, ...]
    steps: tuple[Step, ...]
    """In a valid execution order (ties broken by declaration order)."""
    edges: tuple[tuple[str, str], ...]
    """(before, after) step keys: the dependency graph the executor walks."""
    forget: tuple[Address, ...] = ()
    """State records whose object is gone and no longer declared: dropped on apply."""
    fingerprints: Mapping[str, str] = field(default_factory=dict)
    """``address#id`` → fingerprint of each live object read (for saved plans)."""
    warnings: tuple[str, ...] = ()
    destroy: bool = False
    left_out: str = ""
    """The flags (``--target``, ``--exclude``) that left changes out of the plan: then
    a plan without changes does not mean that the hypervisors match the stack."""
    snapshots: tuple[SnapshotNote, ...] = ()
    """The guests of the plan that have snapshots recorded in the state, by address."""
    moved: tuple[tuple[Address, Address], ...] = ()
    """(old, new) address of each object a ``moved:`` block moves (plan/moves.py):
    apply records it under the new one."""
    environment: str | None = None
    """The stack's environment (``--env``), or None."""
    other_outputs: str = ""
    """Digest of the other stacks' outputs the stack read (stack/other_stacks.py), "" if
    none: a saved plan is refused when they changed."""

    @property
    def summary(self) -> Summary:
        add = sum(c.action in (Action.CREATE, Action.REPLACE) for c in self.changes)
        change = sum(c.action is Action.UPDATE for c in self.changes)
        destroy = sum(c.action.destroys for c in self.changes)
        return Summary(add, change, destroy)

    @property
    def has_changes(self) -> bool:
        return bool(self.steps) or bool(self.forget) or bool(self.moved)

    def pending(self) -> list[Change]:
        return [c for c in self.changes if c.action.is_change]
