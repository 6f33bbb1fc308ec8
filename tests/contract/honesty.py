"""The plan's word against what the hypervisor saw: one field changed, planned, applied.

For one ``FieldEdit`` (a guest declared with ``before``, then with ``after``):
apply the first declaration through the engine, plan the second, apply it
while the hypervisor records what it is asked to do, and compare:

- **power**: a restart (a stop or shutdown followed by a start, a reboot, a
  reset) happens exactly when the plan says ``requires restart``; a start or
  stop only when the plan changes ``power``; nothing else;
- **writes**: every raw key of the object's definition that changed (a
  Proxmox config key, a libvirt XML element, a vSphere config property)
  belongs to a field the plan listed, or to the ownership marker;
- **convergence**: the plan lists the edited field and nothing else, and a
  plan right after the apply lists nothing.

What the hypervisor saw comes from the hypervisor side (fakepve's request
log, the calls libvirt-python was asked to make, the SOAP calls the vSphere
simulator received) and from its raw definitions read back directly, never
from the provider's own account of what it did.
"""

from __future__ import annotations

import os
import re
from abc import ABC, abstractmethod
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Any

from provisioner.apply.progress import CollectingProgress
from provisioner.core.address import Kind
from provisioner.core.resources import Effect
from provisioner.engine import Engine
from provisioner.plan.model import Action, Plan
from provisioner.providers.base import KindSchema, Provider
from provisioner.stack.loader import load_stack
from provisioner.state.local import SQLiteStore

_INDEX = re.compile(r"\[\d+\]")


class Power(StrEnum):
    """A power operation as the hypervisor received it."""

    START = "start"
    STOP = "stop"
    """A hard or clean stop: Proxmox stop/shutdown, libvirt destroy/shutdown, vSphere
    PowerOff/ShutdownGuest."""
    REBOOT = "reboot"
    """A restart in one call: reboot, reset."""
    SUSPEND = "suspend"


@dataclass(frozen=True)
class FieldEdit:
    """One updatable field changed alone: the declaration overrides before and after."""

    path: str
    """The field the edit changes (``cpus``, ``disks[0].size``, ``options.tags``)."""
    before: Mapping[str, Any]
    after: Mapping[str, Any]
    kind: Kind = Kind.GUEST
    stopped: bool = False
    """Run the case on a stopped guest (power: stopped in both declarations)."""
    sections: Mapping[str, Any] = field(default_factory=dict)
    """Other resources both declarations hold (a network, a volume), by section."""


@dataclass
class Watch:
    """What the hypervisor was asked during one apply."""

    power: list[Power] = field(default_factory=list)


class HonestyProbe(ABC):
    """The hypervisor side of the check, implemented by each contract Hypervisor."""

    @abstractmethod
    def raw_state(self, kind: Kind, name: str) -> dict[str, str]:
        """The object's definition as the hypervisor stores it, flattened to raw keys
        (``net0``, ``pending.memory``, ``devices/disk[1]``) → text. Read directly, not
        through the provider."""

    @abstractmethod
    @contextmanager
    def watch(self, kind: Kind, name: str) -> Iterator[Watch]:
        """Record the power operations the hypervisor receives for the object."""

    def settle(self, kind: Kind, name: str) -> None:  # noqa: B027 - optional hook
        """Wait until a freshly applied running object is ready for the edit (a real
        guest has booted far enough to answer a clean shutdown)."""


@dataclass(frozen=True)
class RawFields:
    """Which fields own each raw key: (pattern, field or fields) pairs tried in order;
    None marks keys every write may change (the ownership marker, digests)."""

    rules: Sequence[tuple[str, str | tuple[str, ...] | None]]
    transient: str = "$^"
    """Keys that describe the running instance (a live definition): compared only when
    both sides have them and the object was not restarted in between."""

    def owners(self, key: str) -> tuple[str, ...] | None:
        """The fields owning ``key``; None: anyone's; (): nobody's (an unknown key)."""
        for pattern, owner in self.rules:
            if re.fullmatch(pattern, key):
                return (owner,) if isinstance(owner, str) else owner
        return ()


def merged(base: Mapping[str, Any], overrides: Mapping[str, Any]) -> dict[str, Any]:
    """``base`` with ``overrides`` laid over it (mappings merged, the rest replaced)."""
    result = dict(base)
    for key, value in overrides.items():
        if isinstance(value, Mapping) and isinstance(result.get(key), Mapping):
            result[key] = merged(result[key], value)
        else:
            result[key] = value
    return result


def owning_pattern(schema: KindSchema, path: str) -> str | None:
    """The schema pattern whose rule applies to ``path`` (None: the default rule)."""
    pattern = _INDEX.sub("[]", path)
    while pattern:
        if pattern in schema.fields:
            return pattern
        if pattern.endswith("[]"):
            pattern = pattern[:-2]
        else:
            cut = max(pattern.rfind("."), pattern.rfind("["))
            pattern = pattern[:cut] if cut > 0 else ""
    return None


def updatable_patterns(schema: KindSchema) -> list[str]:
    """The field patterns an update (not a replacement) changes."""
    return sorted(p for p, rule in schema.fields.items() if rule.effect is not Effect.REPLACE)


def within(path: str, prefix: str) -> bool:
    return path == prefix or path.startswith((prefix + ".", prefix + "["))


def related(a: str, b: str) -> bool:
    """Whether one path contains the other (``disks`` and ``disks[0].size``)."""
    return within(a, b) or within(b, a)


@dataclass
class Verdict:
    """What one case found; empty lists mean the plan told the truth."""

    planned: list[tuple[str, Effect]]
    power: list[Power]
    problems: list[str] = field(default_factory=list)


class HonestyCase:
    """One edit on one hypervisor: its own guest name, stack directory and state."""

    def __init__(self, directory: Path, write_stack: Any, provider: Provider,
                 probe: HonestyProbe, raw_fields: RawFields, edit: FieldEdit,
                 declaration: Mapping[str, Any], name: str) -> None:
        self.directory = directory
        self.write_stack = write_stack
        self.provider = provider
        self.probe = probe
        self.raw_fields = raw_fields
        self.edit = edit
        self.declaration = declaration
        self.name = name
        self.state = directory / f"{name}.state.db"

    def _engine(self, overrides: Mapping[str, Any]) -> Engine:
        declaration = merged(self.declaration, overrides)
        if self.edit.stopped:
            declaration["power"] = "stopped"
        # Every case declares the suite's stack anew: its first apply deletes the
        # previous case's objects, so the hypervisor holds one case at a time.
        path = self.write_stack({**self.edit.sections,
                                 self.edit.kind.value: {self.name: declaration}})
        return Engine(load_stack(path), SQLiteStore(self.state),
                      providers={"hv": self.provider})

    def _apply(self, engine: Engine, plan: Plan) -> list[str]:
        """The apply's failures, as messages."""
        result = engine.apply(plan, CollectingProgress(), parallelism=4)
        return [] if result.ok else [f"the apply failed: {r.message}" for r in result.results
                                     if r.message]

    def run(self) -> Verdict:
        with self._engine(self.edit.before) as first:
            failed = self._apply(first, first.plan())
            assert failed == [], f"the declaration before the edit did not apply: {failed}"
        if not self.edit.stopped:
            self.probe.settle(self.edit.kind, self.name)
        before = self.probe.raw_state(self.edit.kind, self.name)
        with self._engine(self.edit.after) as second:
            plan = second.plan()
            planned = [(f.path, f.effect) for c in plan.changes if c.action.is_change
                       for f in c.fields]
            actions = {c.action for c in plan.changes if c.action.is_change}
            with self.probe.watch(self.edit.kind, self.name) as watch:
                failed = self._apply(second, plan)
            again = second.plan()
        after = self.probe.raw_state(self.edit.kind, self.name)
        verdict = Verdict(planned, list(watch.power), failed)
        if actions != {Action.UPDATE}:
            verdict.problems.append(f"planned {sorted(a.value for a in actions)}, not one "
                                    "update")
        verdict.problems += self._listed(planned)
        verdict.problems += self._power(planned, watch.power, before, after)
        verdict.problems += self._writes(planned, before, after, bool(_restarts(watch.power)))
        left = [(str(c.address), [f.path for f in c.fields]) for c in again.changes
                if c.action.is_change]
        if left:
            verdict.problems.append(f"the plan after the apply still lists {left}")
        return verdict

    def _listed(self, planned: list[tuple[str, Effect]]) -> list[str]:
        if not planned:
            return [f"the plan lists nothing for an edit of {self.edit.path}"]
        stray = [path for path, _ in planned if not related(path, self.edit.path)]
        return [f"the plan lists {stray} besides {self.edit.path}"] if stray else []

    def _power(self, planned: list[tuple[str, Effect]], seen: list[Power],
               before: Mapping[str, str], after: Mapping[str, str]) -> list[str]:
        restart = any(effect is Effect.RESTART for _, effect in planned)
        power = any(path == "power" for path, _ in planned)
        cycles = _restarts(seen)
        problems = []
        if cycles and not restart:
            problems.append(f"the hypervisor saw {[p.value for p in seen]}, but the plan "
                            f"announced no restart ({_said(planned)})")
        if restart and not cycles:
            problems.append(f"the plan announced a restart ({_said(planned)}), but the "
                            f"hypervisor saw {[p.value for p in seen] or 'no power operation'}"
                            f" (pending: {_pending(after)})")
        if not power:
            lone = [p.value for p in _without_restarts(seen)]
            if lone:
                problems.append(f"power operations {lone} without a power change in the plan")
        return problems

    def _writes(self, planned: list[tuple[str, Effect]], before: Mapping[str, str],
                after: Mapping[str, str], restarted: bool) -> list[str]:
        problems = []
        for key in sorted(before.keys() | after.keys()):
            if before.get(key) == after.get(key):
                continue
            # a running instance's description: gone when it stops, new when it starts
            if (restarted or key not in before or key not in after) and \
                    re.fullmatch(self.raw_fields.transient, key):
                continue
            owners = self.raw_fields.owners(key)
            if owners is None:
                continue
            change = f"{key}: {before.get(key)!r} -> {after.get(key)!r}"
            if not owners:
                problems.append(f"{change} changed, and no field owns it in the target's "
                                "raw_fields")
            elif not any(related(owner, path) for owner in owners for path, _ in planned):
                problems.append(f"{change} changed (field {' or '.join(owners)}), but the "
                                f"plan listed only {_said(planned)}")
        return problems


def _collapsed(seen: Sequence[Power]) -> list[Power]:
    """``seen`` with a stop that follows a stop dropped: a clean shutdown that ended in
    a hard stop after its timeout is one stop."""
    return [op for index, op in enumerate(seen)
            if not (op is Power.STOP and index and seen[index - 1] is Power.STOP)]


def _restarts(seen: Sequence[Power]) -> int:
    """How many restarts ``seen`` holds: a stop followed by a start, a reboot."""
    count, stopped = 0, False
    for op in _collapsed(seen):
        if op is Power.REBOOT:
            count += 1
        elif op is Power.STOP:
            stopped = True
        elif op is Power.START and stopped:
            count, stopped = count + 1, False
    return count


def _without_restarts(seen: Sequence[Power]) -> list[Power]:
    """The operations that are not part of a restart."""
    left: list[Power] = []
    for op in _collapsed(seen):
        if op is Power.REBOOT:
            continue
        if op is Power.START and left and left[-1] is Power.STOP:
            left.pop()
            continue
        left.append(op)
    return left


def _said(planned: list[tuple[str, Effect]]) -> str:
    return ", ".join(f"{path} {effect.value}" for path, effect in planned) or "nothing"


def _pending(raw: Mapping[str, str]) -> dict[str, str]:
    return {k: v for k, v in raw.items() if k.startswith("pending.")}


def check_every_edit(target: Any, hypervisor: Any, provider: Provider, directory: Path,
                     subtests: Any) -> None:
    """Run each of ``target.field_edits`` on ``hypervisor`` as a subtest: no problem
    found, or one still found where the target names a known gap. ``HONESTY_ONLY=PATH``
    in the environment runs only the edits of that field (to look at one case)."""
    only = os.environ.get("HONESTY_ONLY")
    for number, edit in enumerate(target.field_edits):
        if only and edit.path != only:
            continue
        label = f"{edit.kind.value}.{edit.path}{' (stopped)' if edit.stopped else ''}"
        with subtests.test(msg=label):
            case = HonestyCase(directory, hypervisor.stack_file, provider, hypervisor,
                               target.raw_fields, edit, target.honest_base(edit.kind),
                               f"honest-{number}")
            verdict = case.run()
            gap = target.honesty_gaps.get(f"{edit.kind.value}.{edit.path}")
            if gap is not None:
                assert verdict.problems, f"known gap no longer found ({gap}): remove it"
            else:
                assert not verdict.problems, "\n".join(
                    [f"planned {verdict.planned}, power {verdict.power}", *verdict.problems])
