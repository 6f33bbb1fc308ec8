"""Snapshot commands on a stack's guests: which guests, and each provider call.

The guests are the stack's guests as the hypervisors list them now (one bulk read
per provider, as a plan reads), all of them or the targeted ones. Each call is made
guest by guest; a guest whose call fails does not stop the others, and the result
names it. The hypervisor is the source of truth for which snapshots exist: ``list``
reads them there; the state records those taken and deleted here (address, name,
time, and the space it holds when the provider says: the plan notes it). The caller
holds the stack's lock around changes.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Generic, TypeVar

from provisioner.core.address import Address, Kind
from provisioner.core.resources import LiveObject
from provisioner.core.snapshots import SnapshotInfo
from provisioner.engine import Engine
from provisioner.errors import ProvisionerError, UsageError
from provisioner.state.store import SnapshotRecord

T = TypeVar("T")


@dataclass(frozen=True)
class Guest:
    """One guest of the stack, on the provider block that serves it."""

    provider: str
    live: LiveObject

    @property
    def address(self) -> Address:
        return self.live.address


@dataclass(frozen=True)
class Outcome(Generic[T]):
    """What one guest's call gave: its value, or the error it raised."""

    guest: Guest
    value: T | None = None
    error: ProvisionerError | None = None


def pick_guests(engine: Engine, targets: frozenset[Address]) -> list[Guest]:
    """The stack's guests the hypervisors list now, in address order; only those in
    ``targets`` when it is not empty. UsageError for a target that is not a guest of
    the stack on the hypervisors, or when there is no guest at all."""
    found = {obj.address: Guest(name, obj) for name, inventory in engine.refresh().items()
             for obj in inventory.managed if obj.kind is Kind.GUEST}
    return choose(found, targets)


def choose(found: dict[Address, Guest], targets: frozenset[Address]) -> list[Guest]:
    """``pick_guests`` without the read: pure."""
    for target in sorted(targets, key=str):
        if target.kind is not Kind.GUEST:
            raise UsageError(f"--target {target}: snapshots are taken of guests only",
                             hint="name a guest, such as guests.web-0 (or guests.web for "
                                  "all its instances)")
        if target not in found:
            shown = ", ".join(sorted(str(a) for a in found)) or "none"
            raise UsageError(f"--target {target}: no such guest of the stack on the "
                             "hypervisors", hint=f"its guests there: {shown}")
    chosen = [guest for address, guest in found.items() if not targets or address in targets]
    if not chosen:
        raise UsageError("the stack has no guest on the hypervisors",
                         hint="apply it first: provisioner apply")
    return sorted(chosen, key=lambda guest: str(guest.address))


def each(guests: list[Guest], call: Callable[[Guest], T]) -> list[Outcome[T]]:
    """``call(guest)`` for every guest, one after another; a ProvisionerError is that
    guest's outcome and the others go on."""
    outcomes: list[Outcome[T]] = []
    for guest in guests:
        try:
            outcomes.append(Outcome(guest, value=call(guest)))
        except ProvisionerError as exc:
            outcomes.append(Outcome(guest, error=exc))
    return outcomes


def list_snapshots(engine: Engine, guests: list[Guest]) -> list[Outcome[list[SnapshotInfo]]]:
    providers = engine.providers()
    return each(guests, lambda g: providers[g.provider].snapshots(g.live))


def create(engine: Engine, guests: list[Guest], name: str) -> list[Outcome[SnapshotInfo]]:
    """Take snapshot ``name`` of each guest and record each one taken in the state."""
    providers = engine.providers()

    def take(guest: Guest) -> SnapshotInfo:
        info = providers[guest.provider].snapshot_create(guest.live, name)
        taken = info.created.isoformat(timespec="seconds") if info.created else ""
        engine.store.record_snapshot(SnapshotRecord(guest.address, name, taken, info.size))
        return info

    return each(guests, take)


def revert_plan(engine: Engine, guests: list[Guest], name: str) -> list[tuple[Guest,
                                                                               SnapshotInfo]]:
    """Each guest with its snapshot ``name``; UsageError naming every guest that does
    not have it (nothing is reverted then), ProviderError if one cannot be read."""
    providers = engine.providers()
    plan, missing = [], []
    for guest in guests:
        info = next((s for s in providers[guest.provider].snapshots(guest.live)
                     if s.name == name), None)
        if info is None:
            missing.append(str(guest.address))
        else:
            plan.append((guest, info))
    if missing:
        raise UsageError(f"no snapshot named {name} on " + ", ".join(missing),
                         hint="see the snapshots with `provisioner snapshot list`, or revert "
                              "only the guests that have it with --target")
    return plan


def revert(engine: Engine, guests: list[Guest], name: str) -> list[Outcome[LiveObject]]:
    providers = engine.providers()
    return each(guests, lambda g: providers[g.provider].snapshot_revert(g.live, name))


def delete(engine: Engine, guests: list[Guest], name: str) -> list[Outcome[None]]:
    """Delete snapshot ``name`` of each guest, and its record in the state."""
    providers = engine.providers()

    def remove(guest: Guest) -> None:
        providers[guest.provider].snapshot_delete(guest.live, name)
        engine.store.forget_snapshot(guest.address, name)

    return each(guests, remove)
