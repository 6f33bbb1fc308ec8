"""Which guests of a plan hold snapshots, from the state's records. Pure.

The state records each snapshot taken and deleted with ``provisioner snapshot``
(address, name, time, size when the provider said): the plan reads no hypervisor
for this. A guest the plan keeps (no-op or update) keeps its snapshots and the
space they hold; one it deletes or replaces loses them with it (every provider
deletes a guest's snapshots with the guest). A guest about to be created has none,
whatever stale records say, and the deletes of duplicates and leftovers are not
the address's guest.
"""

from __future__ import annotations

from collections.abc import Sequence

from provisioner.core.address import Address, Kind
from provisioner.plan.model import Action, Change, SnapshotNote
from provisioner.state.store import SnapshotRecord


def snapshot_notes(changes: Sequence[Change],
                   records: Sequence[SnapshotRecord]) -> tuple[SnapshotNote, ...]:
    """A note per guest of ``changes`` with recorded snapshots, by address."""
    held: dict[Address, list[SnapshotRecord]] = {}
    for record in records:
        held.setdefault(record.address, []).append(record)
    notes = []
    for change in changes:
        found = held.get(change.address)
        if not found or change.address.kind is not Kind.GUEST or change.stray is not None \
                or change.action is Action.CREATE:
            continue
        sizes = [record.size for record in found]
        total = None if None in sizes else sum(size or 0 for size in sizes)
        deleted = change.action if change.action.destroys else None
        notes.append(SnapshotNote(change.address, len(found), total, deleted))
    return tuple(sorted(notes, key=lambda note: str(note.address)))
