"""The one exception tree of provisioner.

Every error raised on purpose derives from ``ProvisionerError`` and carries a
``hint`` (the next step for the user). The CLI maps the tree to exit codes and
prints ``str(error)`` plus the hint, never a traceback (``--debug`` adds it).

    ProvisionerError
    ├── UserError                  the user can fix it: exit 1, no traceback
    │   ├── StackError             stack files are invalid; holds every StackProblem found
    │   ├── PlanError              no plan can be made (prevent_destroy, collisions, shrink)
    │   ├── UsageError             bad command-line input (--var, paths)
    │   └── MissingExtraError      a provider's library is not installed
    ├── LockError                  another run holds the stack's lock
    ├── StateError                 the state store cannot be read or written
    └── ProviderError              a hypervisor refused or failed; names the object
        ├── TransientProviderError safe to retry (locks, timeouts, 5xx); providers retry
        │   └── ConnectionLostError the connection dropped; reads are asked again whole
        ├── ObjectNotFoundError    the object is not there (delete treats it as success)
        └── CreateFailedError      create failed; ``leftovers`` says what remains

An apply that ends with failed or skipped changes raises nothing: its result
lists them, and the CLI exits 1 after printing the summary.

Third-party exceptions (libvirtError, requests, pyvmomi faults) are translated
once, at the provider edge, with ``raise ProviderError(...) from exc``.
Error texts must never contain secret values.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass


class ProvisionerError(Exception):
    """Base of every error provisioner raises on purpose."""

    def __init__(self, message: str, hint: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint


class UserError(ProvisionerError):
    """Input the user can correct; printed without a traceback."""


@dataclass(frozen=True, order=True)
class Position:
    """Where a node of a stack file starts (1-based line and column)."""

    file: str
    line: int
    column: int

    def __str__(self) -> str:
        return f"{self.file}:{self.line}:{self.column}"


@dataclass(frozen=True)
class StackProblem:
    """One thing wrong in the stack files: where, which key path, what, next step."""

    position: Position | None
    path: str
    message: str
    hint: str = ""

    def render(self) -> str:
        where = f"{self.position}: " if self.position else ""
        key = f"{self.path}: " if self.path else ""
        text = printable(f"{where}{key}{self.message}")
        return f"{text}\n  hint: {printable(self.hint)}" if self.hint else text


_CONTROL = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u2028\u2029]")


def printable(text: str) -> str:
    """``text`` with control characters escaped (``\\r``, ``\\x1b``): a key or value
    from a stack file must not move the cursor or recolour a terminal."""
    return _CONTROL.sub(lambda found: repr(found.group())[1:-1], text)


class StackError(UserError):
    """The stack files are invalid. Holds every problem found, not only the first."""

    def __init__(self, problems: Sequence[StackProblem]) -> None:
        self.problems = sorted(problems, key=_problem_order)
        count = len(self.problems)
        noun = "problem" if count == 1 else "problems"
        body = "\n".join(problem.render() for problem in self.problems)
        super().__init__(
            f"{body}\n{count} {noun} in the stack.",
            hint="fix the lines above, then run `provisioner validate` again",
        )


def _problem_order(problem: StackProblem) -> tuple[object, ...]:
    pos = problem.position
    return (pos is None, pos or Position("", 0, 0), problem.path, problem.message)


class PlanError(UserError):
    """A plan cannot be made from this stack and this live state."""


class UsageError(UserError):
    """A command-line argument is wrong."""


class MissingExtraError(UserError):
    """A provider needs a Python library that is not installed."""

    def __init__(self, provider_type: str, module: str, extra: str) -> None:
        super().__init__(
            f"the {provider_type} provider needs the Python module '{module}', "
            "which is not installed",
            hint=f"pip install 'provisioner[{extra}]'",
        )


class LockError(ProvisionerError):
    """The stack's lock is held by another run (the message names the holder)."""


class StateError(ProvisionerError):
    """The state store cannot be read or written."""


class ProviderError(ProvisionerError):
    """A hypervisor refused or failed an operation on a named object."""

    def __init__(self, message: str, hint: str = "", *, address: str = "") -> None:
        super().__init__(f"{address}: {message}" if address else message, hint)
        self.address = address


class TransientProviderError(ProviderError):
    """A failure that is safe to retry (lock held, timeout, 5xx)."""


class ConnectionLostError(TransientProviderError):
    """The connection to the hypervisor dropped (daemon restarted, network cut). The
    provider reconnects on its next call; objects read on the old connection are gone
    with it, so a read is asked again whole, and a change's outcome is learned by
    reading (the next run does), never by sending it again."""


class ObjectNotFoundError(ProviderError):
    """The object does not exist (any more)."""


class UpstreamFailedError(ProviderError):
    """A create begun ahead of an object it needs (``Provider.create_ahead``) learned
    that the step making that object failed: what it made is removed, as for any
    failed create, and the step is reported skipped."""


class CreateFailedError(ProviderError):
    """A create failed; ``leftovers`` names what it left on the hypervisor (may be empty)."""

    def __init__(
        self, message: str, hint: str = "", *, address: str = "", leftovers: Sequence[str] = ()
    ) -> None:
        super().__init__(message, hint, address=address)
        self.leftovers = tuple(leftovers)
