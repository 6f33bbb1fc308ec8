"""The engine: one command's stack, providers and state store, wired together.

The CLI parses flags and prints; the engine does the work in between:
refresh (one bulk read per provider, in parallel), plan (or plan a saved plan
again), apply under the stack's lock and what follows it (records, outputs),
and adopting existing objects. Tests drive it directly with in-process drivers.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any, TypeVar

from provisioner.apply.defaults import DEFAULT_PARALLELISM
from provisioner.apply.records import applied_record
from provisioner.core.address import Address, Kind
from provisioner.core.digests import keyed_digest
from provisioner.core.problems import Problem
from provisioner.core.resources import LiveObject, Protection, Resource, to_plain
from provisioner.errors import ConnectionLostError
from provisioner.outputs import OutputValues, evaluate_outputs
from provisioner.plan.admission import CapacityView
from provisioner.plan.model import Action, Plan
from provisioner.plan.module_addresses import name_table, readdressed
from provisioner.plan.planner import PlanOptions
from provisioner.plan.stack_plan import plan_stack
from provisioner.providers.base import (
    Capacity,
    Inventory,
    Owner,
    Provider,
    ProviderStats,
)
from provisioner.providers.kit.retry import RetryPolicy, retrying
from provisioner.stack.as_declared import as_declared
from provisioner.stack.keyed import with_keyed_digests
from provisioner.stack.loader import Stack
from provisioner.state.factory import open_store
from provisioner.state.store import AppliedRecord, JournalEntry, StateStore

if TYPE_CHECKING:  # what only apply, replan, capacity and drift load (issue 19)
    from provisioner.apply.executor import ApplyResult, Events
    from provisioner.plan.capacity_report import CapacityReport
    from provisioner.plan.drift import Drift
    from provisioner.render.planfile import SavedPlan

T = TypeVar("T")
READ_AGAIN = RetryPolicy(start=0.2, max=0.4, attempts=3)
"""A provider's whole read is asked up to 3 times when its connection drops under it (a
daemon restarted, a network cut): the provider reconnects and the read starts over."""


def read_again_if_lost(read: Callable[[], T]) -> T:
    """``read()``, asked again whole while its connection drops (READ_AGAIN)."""
    return retrying(read, READ_AGAIN, lambda exc: isinstance(exc, ConnectionLostError))


@dataclass
class ProviderReport:
    """Plan cost of one provider, for ``--stats``."""

    name: str
    type_name: str
    calls: dict[str, int]
    seconds: float


class Engine:
    """Owns the providers and the store of one command; close() releases both."""

    def __init__(self, stack: Stack, store: StateStore | None = None,
                 providers: Mapping[str, Provider] | None = None) -> None:
        """``providers``: instances already built for the stack's provider blocks (by
        name), used instead of building them (a test that shares one connection)."""
        self.store = store or open_store(stack)
        self.stack = with_keyed_digests(stack, self.store.digest_key)
        self._providers: dict[str, Provider] = dict(providers or {})
        self._borrowed = set(self._providers)
        """Names of the providers handed in: their owner closes them, not close()."""
        self.image_sources: dict[str, Resource] = {}
        """Each declared image as the last plan read it (size, cache state): --stats."""
        self.stop = threading.Event()
        """Set it (Ctrl-C) to let running steps finish and start no new one."""

    def providers(self) -> dict[str, Provider]:
        """Every provider block of the stack, built on first use (no I/O until called)."""
        if not self._providers:
            owner = Owner(self.stack.identity, self.stack.root)
            for name, config in self.stack.providers.items():
                cls = config.plugin.provider_class()
                self._providers[name] = cls(name, config.config, owner)
        return self._providers

    def refresh(self, parallelism: int = DEFAULT_PARALLELISM,
                records: Mapping[Address, AppliedRecord] | None = None
                ) -> dict[str, Inventory]:
        """One ``list_managed`` per provider, run in parallel; a read whose connection
        drops is asked again whole. An object read under an address neither the stack
        nor ``records`` knows takes the one its name has there (a module's, a moved
        resource's: plan/module_addresses.py)."""
        providers = self.providers()
        if not providers:
            return {}
        workers = max(1, min(parallelism, len(providers)))
        with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="refresh") as pool:
            futures = {name: pool.submit(read_again_if_lost, p.list_managed)
                       for name, p in providers.items()}
            read = {name: future.result() for name, future in futures.items()}
        records = records or {}
        table = name_table(self.stack.resources, records.values())
        known = {r.address for r in self.stack.resources} | set(records)
        return {name: readdressed(inventory, table, known) for name, inventory in read.items()}

    def plan(self, options: PlanOptions | None = None,
             parallelism: int = DEFAULT_PARALLELISM, *, locked: bool = False,
             view: CapacityView | None = None, check_capacity: bool = True) -> Plan:
        """Refresh, place, check references, plan, then check capacity where demand
        grows (capacity is read only when placement or the check needs it).

        ``locked``: the caller holds the stack's lock, so journal entries still
        pending belong to runs that died; the refresh settles them. ``view``: the
        capacity to place and check against (default: read from the providers once);
        ``check_capacity=False`` skips the admission check (the capacity report shows
        what does not fit instead)."""
        providers = self.providers()
        prior = self.store.applied()
        pending = self.store.unresolved()
        self._tell_kinds_in_use(prior, pending)
        inventories = self.refresh(parallelism, prior)
        unfinished = self._settle_journal(inventories) if locked else pending
        stack, image_problems = self._with_image_sources()

        def check(resources: Sequence[Resource]) -> list[Problem]:
            checked = {resource.address for resource in resources}
            return [problem for name, provider in providers.items()
                    for problem in provider.check([r for r in resources if r.provider == name])
                    ] + [problem for problem in image_problems if problem.address in checked]

        plan = plan_stack(stack, inventories=inventories, prior=prior,
                          schemas={name: p.schema() for name, p in providers.items()},
                          view=view or self.capacity_view(), check=check, options=options,
                          check_capacity=check_capacity, snapshots=self.store.snapshots())
        notes = [note for inventory in inventories.values() for note in inventory.warnings]
        notes += [note] if (note := "" if locked else self._unlocked_note(unfinished)) else []
        if notes:
            plan = replace(plan, warnings=(*plan.warnings, *notes))
        return plan

    def _tell_kinds_in_use(self, prior: Mapping[Address, AppliedRecord],
                           pending: Sequence[JournalEntry]) -> None:
        """Tell each provider which kinds it can hold objects of for this stack: what
        the stack declares on it (a placement group's on each member), what the last
        applies recorded on it, what a dead run's pending call names (on any block).
        A provider may skip reading the others (vSphere's datastore searches for
        images in a stack that never had any)."""
        members = {name: list(group.providers)
                   for name, group in self.stack.placement_groups.items()}
        used: dict[str, set[Kind]] = {}
        for resource in self.stack.resources:
            for name in members.get(resource.provider, [resource.provider]):
                used.setdefault(name, set()).add(resource.kind)
        for record in prior.values():
            used.setdefault(record.provider, set()).add(record.address.kind)
        anywhere = set()
        for entry in pending:
            with contextlib.suppress(ValueError):
                anywhere.add(Address.parse(entry.address).kind)
        for name, provider in self.providers().items():
            provider.in_use = frozenset(used.get(name, set()) | anywhere)

    def _with_image_sources(self) -> tuple[Stack, list[Problem]]:
        """The stack with what each declared image is (checksum, size, format; one
        ranged read per image not yet cached), and the problems of those that cannot
        be read."""
        if not any(r.kind is Kind.IMAGE for r in self.stack.resources):
            return self.stack, []
        from provisioner.images.cache import ImageCache
        from provisioner.images.sources import with_sources

        resources, problems = with_sources(self.stack.resources, self.stack.root, ImageCache())
        self.image_sources = {r.address.name.partition("@")[0]: r for r in resources
                              if r.kind is Kind.IMAGE}
        return replace(self.stack, resources=tuple(resources)), problems

    def replan(self, saved: SavedPlan, parallelism: int = DEFAULT_PARALLELISM) -> Plan:
        """A saved plan (``apply FILE``) made again with its options, under the lock the
        caller holds; refused (PlanError, naming every difference) unless the stack, the
        objects it read and the changes are still the same."""
        plan = self.plan(saved.options, parallelism, locked=True)
        from provisioner.render.planfile import check_still_valid

        check_still_valid(saved, self.stack.name, self.stack_digest(), plan)
        return plan

    def stack_digest(self) -> str:
        """What a saved plan records of the stack it was made from: its files and
        variable values (sensitive ones too), keyed under the state's key, so the plan
        file confirms no guessed value."""
        return keyed_digest(self.store.digest_key(), self.stack.digest.encode())

    def _unlocked_note(self, unfinished: list[JournalEntry]) -> str:
        """What a plan made without the lock must say: that a run holding it is
        changing the hypervisors now, or that a dead run left calls unfinished."""
        holder = self.store.lock_holder()
        if holder is not None:
            return (f"another run holds the stack's lock ({holder.describe()}) and is "
                    "changing the hypervisors now: this plan shows them as they were read, "
                    "and may be out of date when that run ends")
        if unfinished:
            return (f"{len(unfinished)} provider call(s) of an interrupted run were never "
                    "finished; this plan already accounts for what they did, and the next "
                    "apply settles them (provisioner show lists them)")
        return ""

    def _settle_journal(self, inventories: Mapping[str, Inventory]) -> list[JournalEntry]:
        """Resolve the calls a dead run left pending, from what the hypervisor holds
        now (its objects carry the ownership tag): the plan that follows finishes
        or undoes them, so no manual state surgery is needed."""
        present = {str(obj.address) for inventory in inventories.values()
                   for obj in [*inventory.managed, *inventory.leftovers]}
        entries = self.store.unresolved()
        for entry in entries:
            found = "exists" if entry.address in present else "does not exist"
            self.store.resolve(entry.id, f"run {entry.run_id} died during this call; "
                                         f"afterwards {entry.address} {found} on the "
                                         "hypervisor, and the next plan took it from there")
        return entries

    def capacity(self, options: PlanOptions | None = None,
                 parallelism: int = DEFAULT_PARALLELISM) -> CapacityReport:
        """Every provider's capacity, and what the plan would add or free on it."""
        view = self.capacity_view()
        plan = self.plan(options, parallelism, view=view, check_capacity=False)
        from provisioner.plan.capacity_report import build_report

        return build_report(self.stack.name, plan, sorted(self.stack.providers), view)

    def capacity_view(self) -> CapacityView:
        """Capacity for one plan: each provider's read once, and only if needed."""
        providers = self.providers()
        read: dict[str, Capacity] = {}

        def capacity_of(name: str) -> Capacity:
            if name not in read:
                read[name] = read_again_if_lost(providers[name].capacity)
            return read[name]

        return CapacityView(capacity_of,
                            {name: block.capacity for name, block in self.stack.providers.items()},
                            {name: p.requirements for name, p in providers.items()})

    def drift(self, parallelism: int = DEFAULT_PARALLELISM) -> list[Drift]:
        """What changed on the hypervisors since the last apply recorded it."""
        providers = self.providers()
        prior = self.store.applied()
        self._tell_kinds_in_use(prior, self.store.unresolved())
        inventories = self.refresh(parallelism, prior)
        from provisioner.plan.drift import find_drift

        return find_drift(prior, inventories,
                          {name: p.schema() for name, p in providers.items()})

    def apply(self, plan: Plan, events: Events, parallelism: int = DEFAULT_PARALLELISM,
              command: str = "apply") -> ApplyResult:
        """Run the plan's steps, then forget what is gone and compute outputs.
        The caller holds the lock (it planned under it)."""
        from provisioner.apply.executor import ApplyResult, Executor

        run_id = self.store.begin_run(command)
        executor = Executor(plan, self.providers(), self.store, run_id, events, parallelism,
                            self.stop)
        result = ApplyResult()
        try:
            result = executor.run()
        finally:
            if result.ok:
                self._record_moves(plan)
                for address in plan.forget:
                    self.store.forget(address)
            self.refresh_attributes(plan)
            self.store.finish_run(run_id, "ok" if result.ok else "failed", _summary(result))
        return result

    def conclude(self, plan: Plan, result: ApplyResult | None, *,
                 destroy: bool = False) -> OutputValues | None:
        """What follows ``apply`` or ``destroy`` (``result`` None: the plan had nothing to
        do, and nothing was applied): the records of unchanged objects brought up to
        date, then the outputs computed and stored. None after destroy, which clears the
        stored outputs once it succeeded."""
        if result is None:
            self.refresh_attributes(plan)
        if not destroy:
            return self.outputs()
        if result is None or result.ok:
            self.store.set_outputs({})
        return None

    def adopt(self, address: Address, name: str, block: str,
              lock_timeout: float = 0.0) -> LiveObject:
        """Tag the object named ``name`` on provider block ``block``, owned by no stack, as
        ``address`` of this stack, and record it, under the stack's lock (``provisioner
        import``). Raises what ``Provider.adopt`` raises (the object is unchanged) or
        LockError. An address the stack does not declare yet is recorded protected: a
        plan before its declaration is added refuses to delete what was just adopted,
        instead of planning its deletion. Returns the object as recorded: its spec as
        a declaration of it loads (options at their default left out)."""
        declared = self.stack.resource(address)
        with self.store.lock("import", lock_timeout):
            live = self.providers()[block].adopt(address, name)
            live = replace(live, spec=as_declared(self.stack, block, address.kind, live.spec))
            observed = Resource(address, block, live.spec,
                                deps=declared.deps if declared else live.deps,
                                lifecycle=declared.lifecycle if declared
                                else Protection(prevent_destroy=True))
            self.store.record_applied(applied_record(observed, live))
        return live

    def _record_moves(self, plan: Plan) -> None:
        """Snapshot records follow a moved guest; its record is made anew under the new
        address (``refresh_attributes``, or the step that changed it)."""
        if not plan.moved:
            return
        snapshots = self.store.snapshots()
        for old, new in plan.moved:
            for snapshot in (s for s in snapshots if s.address == old):
                self.store.record_snapshot(replace(snapshot, address=new))
            self.store.forget(old)

    def refresh_attributes(self, plan: Plan) -> None:
        """Bring the records of unchanged objects up to date: what the hypervisor
        computes (an address that arrived after the last apply), the stack's
        prevent_destroy (set or cleared without another change: the record is what
        protects the object once its declaration is removed), and a record for an
        object a killed run made but could not record (it matches the stack)."""
        records = self.store.applied()
        for change in plan.changes:
            if change.action is not Action.NOOP or change.live is None:
                continue
            record = records.get(change.address)
            if record is None:
                if change.desired is not None:
                    self.store.record_applied(applied_record(change.desired, change.live))
                continue
            attributes = to_plain(change.live.attributes)
            protected = change.desired.lifecycle.prevent_destroy if change.desired is not None \
                else record.prevent_destroy
            if attributes != record.attributes or protected != record.prevent_destroy:
                self.store.record_applied(replace(record, attributes=attributes,
                                                  prevent_destroy=protected))

    def outputs(self) -> OutputValues:
        """Outputs from the current records; stored (sensitive ones masked)."""
        values = evaluate_outputs(self.stack.outputs, self.store.applied(),
                                  self.stack.output_groups(),
                                  self.stack.variables, self.stack.other_outputs)
        self.store.set_outputs(values.shown())
        return values

    def stats(self) -> list[ProviderReport]:
        reports = []
        for name, provider in self._providers.items():
            stats: ProviderStats = provider.stats
            reports.append(ProviderReport(name, self.stack.providers[name].type_name,
                                          dict(sorted(stats.calls.items())), stats.seconds))
        return reports

    def close(self) -> None:
        for name, provider in self._providers.items():
            if name not in self._borrowed:
                provider.close()
        self.store.close()

    def __enter__(self) -> Engine:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _summary(result: ApplyResult) -> Mapping[str, Any]:
    from provisioner.apply.executor import Outcome

    return {outcome.value: len(result.with_outcome(outcome)) for outcome in Outcome}
