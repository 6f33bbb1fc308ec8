"""Moving a stack's state from one store to another (``provisioner state migrate``)."""

from __future__ import annotations

from dataclasses import dataclass

from provisioner.errors import UsageError
from provisioner.state.store import StateStore

COMMAND = "state migrate"


@dataclass(frozen=True)
class Migrated:
    """How much was copied."""

    records: int
    """Last applied records, one per resource."""
    pending: int
    """Journal entries of calls never finished."""


def copy_state(source: StateStore, target: StateStore, *, stack: str, target_name: str,
               lock_timeout: float = 0.0) -> Migrated:
    """Copy the last applied record of every resource, the snapshots recorded, the
    outputs and every unfinished
    journal entry from ``source`` into ``target``, under both stores' locks. The run
    history stays in ``source``, which is left as it was. Refuses (UsageError) a
    target that already holds something for ``stack``; raises LockError if either
    lock is held."""
    with source.lock(COMMAND, lock_timeout), target.lock(COMMAND, lock_timeout):
        if target.applied() or target.unresolved():
            raise UsageError(f"the {target_name} state already holds stack {stack}",
                             hint="migrate into an empty state only")
        records = source.applied()
        for record in records.values():
            target.record_applied(record)
        for snapshot in source.snapshots():
            target.record_snapshot(snapshot)
        target.set_outputs(source.outputs())
        target.digest_key(adopt=source.digest_key())  # stored digests keep comparing
        pending = source.unresolved()
        if pending:
            run_id = target.begin_run(COMMAND)
            for entry in pending:
                target.journal_intent(run_id, entry.address, entry.operation,
                                      f"migrated: {entry.detail}")
            target.finish_run(run_id, "ok", {"migrated": len(pending)})
    return Migrated(len(records), len(pending))
