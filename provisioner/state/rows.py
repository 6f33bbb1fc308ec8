"""Rows of the state tables ↔ the store's records, shared by every SQL backend.

Both backends keep the same columns and JSON-as-text values, so they read
back the same records from the same writes.
"""

from __future__ import annotations

import json
from typing import Any, Protocol

from provisioner.stack.address import Address
from provisioner.state.store import AppliedRecord, JournalEntry, JournalStatus, RunRecord


class Row(Protocol):
    """A row by column name (sqlite3.Row, psycopg's dict rows)."""

    def __getitem__(self, key: str) -> Any: ...


def dumps(value: Any) -> str:
    """JSON text as stored: sorted keys, so equal values give equal text."""
    return json.dumps(value, sort_keys=True)


def record_from_row(row: Row) -> AppliedRecord:
    return AppliedRecord(
        address=Address.parse(row["address"]), provider=row["provider"],
        spec=json.loads(row["spec"]),
        deps=tuple(Address.parse(dep) for dep in json.loads(row["deps"])),
        live_id=row["live_id"], name=row["name"], attributes=json.loads(row["attributes"]),
        prevent_destroy=bool(row["prevent_destroy"]), applied_at=row["applied_at"])


def entry_from_row(row: Row) -> JournalEntry:
    return JournalEntry(
        id=row["id"], run_id=row["run_id"], address=row["address"],
        operation=row["operation"], status=JournalStatus(row["status"]), detail=row["detail"],
        started_at=row["started_at"], finished_at=row["finished_at"])


def run_from_row(row: Row) -> RunRecord:
    return RunRecord(id=row["id"], command=row["command"], started_at=row["started_at"],
                     finished_at=row["finished_at"], status=row["status"],
                     summary=json.loads(row["summary"]))
