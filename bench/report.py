"""Sections of results, printed as tables and written to docs/benchmarks.md."""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path


@dataclass
class Table:
    title: str
    columns: Sequence[str]
    rows: list[list[str]] = field(default_factory=list)

    def add(self, *cells: object) -> None:
        self.rows.append([str(cell) for cell in cells])

    def markdown(self) -> str:
        lines = [f"**{self.title}**", "", "| " + " | ".join(self.columns) + " |",
                 "| " + " | ".join("---" for _ in self.columns) + " |"]
        lines += ["| " + " | ".join(row) + " |" for row in self.rows]
        return "\n".join(lines)

    def text(self) -> str:
        widths = [max(len(str(c)), *(len(r[i]) for r in self.rows)) if self.rows else len(c)
                  for i, c in enumerate(self.columns)]
        line = "  ".join(c.ljust(w) for c, w in zip(self.columns, widths, strict=True))
        body = ["  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True))
                for row in self.rows]
        return "\n".join([self.title, line, "-" * len(line), *body])


@dataclass
class Goal:
    """One goal of the issue and what was measured against it."""

    name: str
    target: str
    measured: str
    met: bool | None
    """None: could not be measured here."""
    kind: str = "absolute"
    """``ratio``: two things measured side by side in one run (stable across machines);
    ``absolute``: a number of this machine only; ``count``: calls or objects (exact)."""

    @property
    def verdict(self) -> str:
        return {True: "met", False: "NOT met", None: "not measured"}[self.met]


@dataclass
class Section:
    key: str
    title: str
    method: str = ""
    tables: list[Table] = field(default_factory=list)
    goals: list[Goal] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    """Markdown paragraphs or blocks shown after the tables (profiles, errors)."""

    def text(self) -> str:
        parts = [f"== {self.title}", *(table.text() for table in self.tables)]
        parts += [f"goal ({g.kind}): {g.name}: {g.measured} (target {g.target}): {g.verdict}"
                  for g in self.goals]
        return "\n\n".join(parts)

    def markdown(self) -> str:
        parts = [f"## {self.title}"]
        if self.method:
            parts.append(self.method.strip())
        parts += [table.markdown() for table in self.tables]
        if self.goals:
            goals = Table("Goals", GOAL_COLUMNS)
            for goal in self.goals:
                goals.add(goal.name, goal.kind, goal.target, goal.measured, goal.verdict)
            parts.append(goals.markdown())
        parts += [note.strip() for note in self.notes]
        return "\n\n".join(parts)


GOAL_COLUMNS = ["goal", "kind", "target", "measured", "verdict"]

Log = Callable[[str], None]


def fmt_s(seconds: float) -> str:
    if math.isnan(seconds):
        return "-"
    return f"{seconds:.2f} s" if seconds < 100 else f"{seconds:.0f} s"


def fmt_mb(megabytes: float) -> str:
    return "-" if math.isnan(megabytes) else f"{megabytes:.0f} MB"


def write_doc(path: Path, head: str, sections: Sequence[Section], tail: str) -> None:
    goals = Table("Every goal (issues 7 and 19); kind: ratio = side by side in one run, "
                  "stable across machines; absolute = this machine only; count = exact",
                  GOAL_COLUMNS)
    for section in sections:
        for goal in section.goals:
            goals.add(goal.name, goal.kind, goal.target, goal.measured, goal.verdict)
    body = [head.strip(), "## Summary", goals.markdown(),
            *(section.markdown() for section in sections), tail.strip()]
    path.write_text("\n\n".join(body) + "\n", encoding="utf-8")
