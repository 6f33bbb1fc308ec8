"""The operation journal: intent written before every provider call, outcome after.

A run killed between the two leaves a PENDING entry; the next run sees it
(``provisioner show``) and settles it by asking the hypervisor, where the
ownership tag says whether the call took effect.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from provisioner.errors import ProvisionerError
from provisioner.state.store import JournalStatus, StateStore


class Journal:
    """Brackets provider calls of one run in the store's journal."""

    def __init__(self, store: StateStore, run_id: str) -> None:
        self.store = store
        self.run_id = run_id

    @contextmanager
    def bracket(self, address: str, operation: str, detail: str = "") -> Iterator[list[str]]:
        """Write the intent, run the block, write the outcome.

        The block may append a detail for the outcome (such as the new object's
        id) to the yielded list. Any exception is recorded as FAILED and re-raised.
        """
        entry = self.store.journal_intent(self.run_id, address, operation, detail)
        outcome: list[str] = []
        try:
            yield outcome
        except ProvisionerError as exc:
            self.store.journal_outcome(entry, JournalStatus.FAILED, exc.message)
            raise
        except BaseException as exc:
            self.store.journal_outcome(entry, JournalStatus.FAILED,
                                       f"internal error: {type(exc).__name__}")
            raise
        self.store.journal_outcome(entry, JournalStatus.OK, "; ".join(outcome))
