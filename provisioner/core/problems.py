"""Problems that stop a plan: values, not text.

A provider's plan-time check, the planner's own refusals and the stack-wide
checks made at plan time each report a ``Problem``: the address it concerns,
the field at fault, where the stack declares it, what is wrong, and what to do.
Decisions read the fields (``--target`` keeps the problems of the addresses it
keeps); people read ``problem_text``, the one place a problem becomes text.

(The loader's problems with the stack files themselves are ``errors.StackProblem``:
they name a key of the document, not a resource.)
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from provisioner.core.address import Address
from provisioner.errors import PlanError, Position


@dataclass(frozen=True)
class Problem:
    """One reason a plan cannot be made."""

    summary: str
    """What is wrong, read after ``ADDRESS: PATH``: ``3000 is also guests.db's``."""
    address: Address | None = None
    """The resource it concerns; None for the plan as a whole (a flag, an output)."""
    path: str = ""
    """The field at fault, as a diff names it (``options.vmid``, ``networks[0].mac``);
    without an address, the stack key it concerns (``outputs.web_ips``)."""
    detail: str = ""
    """More lines, shown indented under the summary."""
    hint: str = ""
    """The next step for the user."""
    position: Position | None = None
    """Where the stack declares the field (the engine fills it in from the source map)."""

    def at(self, position: Position | None) -> Problem:
        """The same problem, located at ``position``."""
        return Problem(self.summary, self.address, self.path, self.detail, self.hint, position)


def problem_text(problem: Problem) -> str:
    """``FILE:LINE:COL: ADDRESS: PATH SUMMARY``, then the detail and the hint indented."""
    where = f"{problem.position}: " if problem.position else ""
    if problem.address is not None:
        subject = f"{problem.address}: {problem.path} " if problem.path else f"{problem.address}: "
    else:
        subject = f"{problem.path}: " if problem.path else ""
    lines = [f"{where}{subject}{problem.summary}"]
    lines += [f"  {line}" for line in problem.detail.splitlines()]
    if problem.hint:
        lines.append(f"  hint: {problem.hint}")
    return "\n".join(lines)


class PlanRefused(PlanError):
    """A plan cannot be made: ``problems`` says why, each as a value; the message is
    their text, one after the other."""

    def __init__(self, problems: Sequence[Problem], *, heading: str = "",
                 hint: str = "") -> None:
        self.problems = tuple(problems)
        body = "\n".join(problem_text(problem) for problem in self.problems)
        super().__init__(f"{heading}\n{body}" if heading else body, hint=hint)
