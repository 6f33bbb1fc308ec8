"""Rows of the state tables ↔ the store's records, shared by every SQL backend.

Both backends keep the same columns and JSON-as-text values, so they read
back the same records from the same writes.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Callable, Sequence
from contextlib import suppress
from typing import Any, ParamSpec, Protocol, TypeVar

from provisioner.core.address import Address
from provisioner.errors import StateError
from provisioner.state.store import (
    AppliedRecord,
    JournalEntry,
    JournalStatus,
    RunRecord,
    SnapshotRecord,
)


class Row(Protocol):
    """A row by column name (sqlite3.Row, psycopg's dict rows)."""

    def __getitem__(self, key: str) -> Any: ...


_P = ParamSpec("_P")
_R = TypeVar("_R")
DAMAGED_HINT = "restore the state file from a backup (the objects on the hypervisors are untouched)"


def refusing_damage(what: str) -> Callable[[Callable[_P, _R]], Callable[_P, _R]]:
    """Rows edited by hand (JSON that does not parse, an address that is none) are a
    StateError naming ``what``, not an internal error."""
    def decorate(function: Callable[_P, _R]) -> Callable[_P, _R]:
        @functools.wraps(function)
        def checked(*args: _P.args, **kwargs: _P.kwargs) -> _R:
            try:
                return function(*args, **kwargs)
            except (ValueError, TypeError, KeyError) as exc:
                raise StateError(f"the state holds a damaged {what}: {exc}",
                                 hint=DAMAGED_HINT) from exc
        return checked
    return decorate


@refusing_damage("output")
def loads_value(text: str) -> Any:
    """A JSON column's value."""
    return json.loads(text)


def dumps(value: Any) -> str:
    """JSON text as stored: sorted keys, so equal values give equal text."""
    return json.dumps(value, sort_keys=True)


@refusing_damage("record of what was applied")
def records_from_rows(rows: Sequence[Row]) -> dict[Address, AppliedRecord]:
    """The applied records by address. Every row's JSON columns are decoded by one
    ``json.loads`` of them all, and each dependency address is parsed once: a
    10,000-guest state spent more time in 30,000 small decodes than in reading."""
    documents = _decoded_columns(rows)
    parsed: dict[str, Address] = {}

    def dep(text: str) -> Address:
        if text not in parsed:
            parsed[text] = Address.parse(text)
        return parsed[text]

    records = {}
    for row, (spec, deps, attributes) in zip(rows, documents, strict=True):
        address = Address.parse(row["address"])
        records[address] = AppliedRecord(
            address=address, provider=row["provider"], spec=spec,
            deps=tuple(dep(text) for text in deps), live_id=row["live_id"], name=row["name"],
            attributes=attributes, prevent_destroy=bool(row["prevent_destroy"]),
            applied_at=row["applied_at"])
    return records


def _decoded_columns(rows: Sequence[Row]) -> list[list[Any]]:
    """[spec, deps, attributes] of each row, decoded together; row by row (whose
    error names the bad value) if the joined text does not split back into rows."""
    text = ",".join(f"[{row['spec']},{row['deps']},{row['attributes']}]" for row in rows)
    with suppress(ValueError):
        documents: list[list[Any]] = json.loads(f"[{text}]")
        if len(documents) == len(rows) and all(len(columns) == 3 for columns in documents):
            return documents
    return [[json.loads(row[column]) for column in ("spec", "deps", "attributes")]
            for row in rows]


@refusing_damage("journal entry")
def entry_from_row(row: Row) -> JournalEntry:
    return JournalEntry(
        id=row["id"], run_id=row["run_id"], address=row["address"],
        operation=row["operation"], status=JournalStatus(row["status"]), detail=row["detail"],
        started_at=row["started_at"], finished_at=row["finished_at"])


@refusing_damage("record of a run")
def run_from_row(row: Row) -> RunRecord:
    return RunRecord(id=row["id"], command=row["command"], started_at=row["started_at"],
                     finished_at=row["finished_at"], status=row["status"],
                     summary=json.loads(row["summary"]))


def snapshot_from_row(row: Row) -> SnapshotRecord:
    size = row["size"]
    return SnapshotRecord(Address.parse(row["address"]), row["name"], row["taken_at"],
                          None if size is None else int(size))
