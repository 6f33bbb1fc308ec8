"""The ``moved:`` section, checked: each entry's addresses, at their lines.

``from`` is an address the stack no longer declares (a resource, or a declaration
whose instances all move); ``to`` one it declares, of the same kind. What a move
does is planned in plan/moves.py.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field

from provisioner.core.address import Address
from provisioner.errors import StackProblem
from provisioner.stack.interpolate import did_you_mean
from provisioner.stack.model import MovedBlock
from provisioner.stack.source import PathKey, SourceMap, format_path


@dataclass(frozen=True)
class Move:
    """One entry of ``moved:`` (``after`` is declared; ``source`` is where it is
    written, ``file:line:col: ``, for the plan's refusals)."""

    before: Address
    after: Address
    source: str = ""


@dataclass
class Moves:
    moves: tuple[Move, ...] = ()
    problems: list[StackProblem] = field(default_factory=list)


def check_moves(blocks: Sequence[MovedBlock], declared: Collection[Address],
                groups: Mapping[Address, list[Address]], source: SourceMap) -> Moves:
    """The valid moves of ``blocks``; a problem for each address that is not right.
    ``declared``: every resource's address; ``groups``: each declaration's
    instances, keyed by the address written for it."""
    result = Moves()
    moves: list[Move] = []
    seen: set[Address] = set()
    for index, block in enumerate(blocks):
        path: PathKey = ("moved", index)
        before = _address(block.before, (*path, "from"), source, result)
        after = _address(block.to, (*path, "to"), source, result)
        if before is None or after is None:
            continue
        problem = _refusal(before, after, declared, groups, seen)
        if problem is not None:
            message, hint, where = problem
            result.problems.append(StackProblem(source.value_at((*path, where)),
                                                format_path((*path, where)), message, hint))
            continue
        seen.add(before)
        position = source.value_at(path)
        moves.append(Move(before, after, f"{position}: " if position else ""))
    result.moves = tuple(moves)
    return result


def _address(text: str, path: PathKey, source: SourceMap, result: Moves) -> Address | None:
    try:
        return Address.parse(text)
    except ValueError as exc:
        result.problems.append(StackProblem(source.value_at(path), format_path(path), str(exc),
                                            "such as guests.web or module.web.guests.web"))
        return None


def _refusal(before: Address, after: Address, declared: Collection[Address],
             groups: Mapping[Address, list[Address]], seen: set[Address]
             ) -> tuple[str, str, str] | None:
    """(message, hint, key) of what is wrong with one move, or None."""
    if before.kind is not after.kind:
        return (f"{before} is a {before.kind.singular} and {after} a {after.kind.singular}",
                "a move keeps the kind", "to")
    if before in declared or before in groups:
        return (f"{before} is still declared", "a move's `from` is the old address, no "
                "longer in the stack", "from")
    if before in seen:
        return (f"{before} is moved twice", "keep one move for it", "from")
    if after not in declared and after not in groups:
        known = [str(a) for a in (*declared, *groups) if a.kind is after.kind]
        return (f"{after} is not declared", did_you_mean(str(after), known) or
                "a move's `to` is an address the stack declares", "to")
    return None
