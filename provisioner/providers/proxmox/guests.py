"""Proxmox guests, VMs (QEMU, ``qemu.py``) and containers (LXC, ``lxc.py``): what both
share, VMIDs, retried creates, reads, resource pools, deletes.

A create reserves a VMID the process has not handed out, checks it with
``/cluster/nextid?vmid=N`` and creates; an id another client took meanwhile
("already exists") is marked taken and the next one is tried. A create whose
answer was lost (a dropped connection) is not blindly repeated: the VMID is
read back, and if it carries this resource's marker the create happened.
If anything fails once the guest exists, it is destroyed again; what cannot
be is named in ``CreateFailedError.leftovers``.
"""

from __future__ import annotations

import contextlib
import time
from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping, Sequence
from typing import Any, ClassVar

from provisioner.core.address import Kind
from provisioner.core.resources import PROTECTION_MARK, Effect, LiveObject, Resource, to_plain
from provisioner.errors import (
    CreateFailedError,
    ObjectNotFoundError,
    ProviderError,
    TransientProviderError,
)
from provisioner.providers.base import CallKind, KindSchema
from provisioner.providers.kit.changes import effect_of, touched
from provisioner.providers.kit.marker import Marker
from provisioner.providers.kit.ownership import name_taken, stack_owner
from provisioner.providers.proxmox.client import AlreadyExistsError
from provisioner.providers.proxmox.cluster import ConfigView
from provisioner.providers.proxmox.context import Context
from provisioner.providers.proxmox.facts import Facts, GuestRef
from provisioner.providers.proxmox.ownership import parse_marker, stack_of
from provisioner.providers.proxmox.props import parse_drive
from provisioner.providers.proxmox.qemu_write import ConfigChange, Wanted
from provisioner.providers.proxmox.specs import options_of
from provisioner.providers.proxmox.unsupported import unsupported

MAX_VMID_ATTEMPTS = 25


class Guests(ABC):
    """Create, read, delete of one type of Proxmox guest (``Qemu``, ``Lxc``)."""

    kind: ClassVar[str]
    """``qemu`` or ``lxc``: the API path segment and the /cluster/resources type."""
    noun: ClassVar[str]
    stack_kind: ClassVar[Kind]

    def __init__(self, ctx: Context, schema: KindSchema) -> None:
        self.ctx = ctx
        self.client = ctx.client
        self.owner = ctx.owner
        self.schema = schema
        """The kind's field rules: what the plan announced for a change."""

    # -- what each kind provides -----------------------------------------------------------

    @abstractmethod
    def make(self, resource: Resource, facts: Facts) -> GuestRef:
        """Create the guest (allocating its VMID with ``with_vmid``); returns it.
        If this raises, Proxmox made nothing (a failed create task removes its guest)."""

    @abstractmethod
    def configure(self, resource: Resource, ref: GuestRef, live: LiveObject | None,
                  changed: Sequence[str] | None) -> None:
        """Bring an existing guest to ``resource`` (``changed=None``: all of it, after a
        create; else only the fields ``changed`` names): one config write of what
        differs, growth, resource pool, a restart if Proxmox left a change pending that
        the plan announced as requiring one (and ``options.restart`` allows), power.
        If this raises, the guest exists; what was written shows in the next plan."""

    @abstractmethod
    def read(self, config: Mapping[str, Any], ref: GuestRef, marker: Marker) -> dict[str, Any]:
        """The spec of a guest with this config."""

    @abstractmethod
    def attributes(self, config: Mapping[str, Any]) -> dict[str, Any]:
        """Computed values beyond vmid, node and state (MACs, static addresses)."""

    @abstractmethod
    def storages(self, config: Mapping[str, Any]) -> list[str]:
        """The storages the guest's disks are on."""

    # -- create ---------------------------------------------------------------------------

    def create(self, resource: Resource) -> GuestRef:
        """See Provider.create: a guest an earlier attempt made is finished, a name
        someone else uses is refused, a failure removes what was made."""
        what = str(resource.address)
        problems = unsupported(resource)
        if problems:
            path, summary = problems[0]
            raise ProviderError(f"{what}: {path} {summary}")
        facts = self.ctx.cluster.refresh()
        earlier = self.earlier_attempt(resource, facts)
        if earlier is not None:
            self.configure(resource, earlier, None, None)
            return earlier
        made: GuestRef | None = None
        try:
            made = self.make(resource, facts)
            self.configure(resource, made, None, None)
            return made
        except ProviderError as exc:
            leftovers = self.roll_back(made, resource) if made is not None else []
            message = exc.message.removeprefix(f"{what}: ")
            raise CreateFailedError(message, exc.hint, address=what,
                                    leftovers=leftovers) from exc

    def update(self, resource: Resource, live: LiveObject, changed: Sequence[str]) -> int:
        """See Provider.update; returns the VMID."""
        what = str(resource.address)
        ref = self.ctx.cluster.find(self.kind, int(live.id))
        if ref is None:
            raise ObjectNotFoundError(f"{what}: {self.noun} {live.id} is gone",
                                      hint="plan again: it will be created")
        if ref.status == "unknown":  # what /cluster/resources says of a node it lost
            raise ProviderError(f"{what}: node {ref.node} is offline or unreachable",
                                hint="bring it back, then apply again")
        self.configure(resource, ref, live, changed)
        return ref.vmid

    def earlier_attempt(self, resource: Resource, facts: Facts) -> GuestRef | None:
        """The guest an earlier create of this resource made, or None; refuses a
        guest of the same name that belongs to anything else."""
        what = str(resource.address)
        for ref in facts.guests:
            if ref.kind != self.kind or ref.name != resource.name:
                continue
            marker = None if ref.template else self.marker_of(ref, what)
            if self.owner.owns_at(marker, resource.address):
                return ref
            whose = stack_owner(stack_of(ref.tags))
            if marker is not None and marker.stack == self.owner.stack:
                whose = f"{marker.address} of provider block {marker.provider}"
            raise name_taken(what, self.noun, ref.name, f"{whose}, VMID {ref.vmid} on {ref.node}",
                             hint=f"rename it in the stack, or remove or rename that {self.noun}")
        return None

    def marker_of(self, ref: GuestRef, what: str) -> Marker | None:
        try:
            view = self.ctx.cluster.config(ref, what)
        except ObjectNotFoundError:
            return None
        return parse_marker(view.current.get("description"))

    def with_vmid(self, resource: Resource, node: str, create: Callable[[int], None]) -> int:
        """Run ``create(vmid)`` with a VMID nobody uses; returns the VMID it worked with."""
        what = str(resource.address)
        fixed = options_of(resource).vmid
        deadline = time.monotonic() + self.ctx.settings.retry_timeout
        for _attempt in range(MAX_VMID_ATTEMPTS):
            vmid = int(fixed) if fixed else self.ctx.vmids.reserve()
            try:
                self.client.get(CallKind.READ, what, "cluster/nextid", vmid=vmid)
                create(vmid)
                return vmid
            except AlreadyExistsError as exc:
                self.ctx.vmids.taken(vmid)
                if fixed:
                    raise ProviderError(f"{what}: VMID {vmid} is taken",
                                        hint="choose another options.vmid") from exc
            except TransientProviderError:
                if self._created(resource, node, vmid):
                    return vmid
                self.ctx.vmids.release(vmid)
                if time.monotonic() > deadline:
                    raise
            except ProviderError:
                self.ctx.vmids.release(vmid)
                raise
        raise ProviderError(f"{what}: {MAX_VMID_ATTEMPTS} VMIDs in a row were taken by "
                            "other clients", hint="set vmid_range to a range only "
                                                  "provisioner uses")

    def _created(self, resource: Resource, node: str, vmid: int) -> bool:
        """After a lost answer: whether the create happened (the VMID has our marker)."""
        path = f"nodes/{node}/{self.kind}/{vmid}"
        try:
            config = self.ctx.power.wait_unlocked(path, str(resource.address))
        except ObjectNotFoundError:
            return False
        return self.owner.owns_at(parse_marker(config.get("description")), resource.address)

    def roll_back(self, ref: GuestRef, resource: Resource) -> list[str]:
        """Destroy a guest this create made; what could not be destroyed."""
        live = LiveObject(resource.address, resource.provider, resource.name, str(ref.vmid), {},
                          attributes={"node": ref.node})
        try:
            self.delete(live)
        except ProviderError:
            return [f"{self.noun} {ref.vmid} on node {ref.node}"]
        return []

    def destroy_unused(self, ref: GuestRef, what: str, detached: set[Any]) -> None:
        """A detached disk or mount point becomes ``unusedN``; deleting that key destroys
        the volume (its data is gone: the stack removed it)."""
        volumes = {parse_drive(value).volume for value in detached}
        config = self.client.get(CallKind.READ, what, f"{ref.path}/config")
        unused = [key for key, value in config.items() if key.startswith("unused")
                  and parse_drive(value).volume in volumes]
        if unused:
            self.client.put(what, f"{ref.path}/config", delete=",".join(sorted(unused)))

    def applied(self, resource: Resource, extra: Mapping[str, Any]) -> dict[str, Any]:
        """What the marker keeps: the spec as applied, and the provider's own notes."""
        return {**_without_none(to_plain(resource.spec)), "_pve": dict(extra)}

    def restart_for_pending(self, resource: Resource, ref: GuestRef, running: bool,
                            ours: set[str], live: LiveObject | None,
                            changed: Sequence[str] | None) -> None:
        """Restart a running guest when Proxmox left a value of ``ours`` pending, the
        plan announced a restart, and ``options.restart`` allows it."""
        what = str(resource.address)
        if not running or options_of(resource).restart != "reboot" or \
                not restart_announced(self.schema, resource, live, changed):
            return
        if self.ctx.cluster.config(ref, what).pending & ours:
            self.ctx.power.restart(ref.path, ref.node, what)

    def set_pool(self, vmid: int, want: str | None, have: str | None, what: str) -> None:
        """Move a guest into ``want`` (a Proxmox resource pool), out of ``have``."""
        if want == have:
            return
        if want is not None:
            self.client.put(what, f"pools/{want}", vms=str(vmid), **{"allow-move": 1})
        elif have is not None:
            with contextlib.suppress(ObjectNotFoundError):
                self.client.put(what, f"pools/{have}", vms=str(vmid), delete=1)

    # -- read -----------------------------------------------------------------------------

    def live_object(self, ref: GuestRef, view: ConfigView, marker: Marker,
                    addresses: Sequence[str] = ()) -> LiveObject:
        """The guest as the planner sees it: current values in the spec, values that wait
        for a restart in ``attributes["pending"]`` (path → value after the restart);
        ``addresses`` (from the guest agent) are its ``ip``/``ips`` over the static ones."""
        spec = self.read(view.current, ref, marker)
        pending: dict[str, Any] = {}
        if view.pending:
            _changes("", spec, self.read(view.effective, ref, marker), pending)
        attributes = {"vmid": ref.vmid, "node": ref.node,
                      "state": ref.status, "lock": ref.lock, "pending": pending,
                      PROTECTION_MARK: marker.protected,
                      **self.attributes(view.current)}
        if addresses:
            attributes.update(ip=addresses[0], ips=list(addresses))
        return LiveObject(address=marker.address, provider=self.owner.provider, name=ref.name,
                          id=str(ref.vmid), spec=spec, attributes=attributes,
                          running=ref.running,
                          deps=self.ctx.names.pool_deps(self.storages(view.current)))

    # -- delete ---------------------------------------------------------------------------

    def delete(self, live: LiveObject) -> None:
        """Stop it hard and destroy it with its disks. Already gone, or the VMID now
        used by something else, is success."""
        what = str(live.address)
        ref = self.ctx.cluster.find(self.kind, int(live.id))
        if ref is None:
            return
        if ref.status == "unknown":  # what /cluster/resources says of a node it lost
            raise ProviderError(f"{what}: node {ref.node} is offline or unreachable",
                                hint="bring it back, then apply again")
        if not self.owner.owns_at(self.marker_of(ref, what), live.marker_address):
            return
        try:
            if ref.running or self.ctx.power.running(ref.path, what):
                self.ctx.power.stop(ref.path, ref.node, what, clean=False)
            with self.ctx.limits.hold(ref.node):
                self.ctx.tasks.run(what, lambda: self.client.delete(
                    what, ref.path, purge=1, **{"destroy-unreferenced-disks": 1}))
        except ObjectNotFoundError:
            return


def managed_keys(change: ConfigChange, wanted: Wanted, devices: Mapping[str, str],
                 changed: Sequence[str] | None) -> set[str]:
    """Config keys whose pending value is this apply's to apply by a restart: what it
    wrote, and the keys of the fields it changes (every key it manages, after a create:
    their pending values are then the stack's). ``devices``: spec path → config key
    of each declared disk or mount point. Pending values of other keys are left to
    their owner."""
    keys = set(change.set) | set(change.delete)
    if changed is None:
        return keys | set(devices.values()) | {k for k, v in wanted.values.items()
                                                if v is not None}
    return keys | {key for key in wanted.paths if wanted.touched(key, changed)} | \
        {key for path, key in devices.items() if touched(path, changed)}


def restart_announced(schema: KindSchema, resource: Resource, live: LiveObject | None,
                      changed: Sequence[str] | None) -> bool:
    """Whether the plan said this update requires a restart: the effect the plan gave
    a changed field (its rule, refined by the values and what Proxmox held pending) is
    RESTART. Only then may a running guest be restarted; a value Proxmox leaves
    pending after an "in place" update stays pending (the next plan shows it as
    requiring a restart)."""
    if live is None or changed is None:
        return True  # a create: the guest has not run yet
    return any(effect_of(schema, path, live, resource.spec) is Effect.RESTART
               for path in changed)


def _without_none(value: Any) -> Any:
    """A plain spec without None values (absent reads as None): a shorter marker."""
    if isinstance(value, dict):
        return {k: _without_none(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [_without_none(item) for item in value]
    return value


def _changes(path: str, now: Any, later: Any, found: dict[str, Any]) -> None:
    """Leaf paths where ``later`` differs from ``now``."""
    if isinstance(now, Mapping) and isinstance(later, Mapping):
        for key in now.keys() | later.keys():
            _changes(f"{path}.{key}" if path else str(key), now.get(key), later.get(key), found)
    elif isinstance(now, list) and isinstance(later, list):
        for index in range(max(len(now), len(later))):
            _changes(f"{path}[{index}]", now[index] if index < len(now) else None,
                     later[index] if index < len(later) else None, found)
    elif now != later:
        found[path] = to_plain(later)


def has_pending(live: LiveObject, path: str) -> bool:
    """Whether Proxmox holds a value for ``path`` (or inside it) until a restart."""
    pending = live.attributes.get("pending") or {}
    return isinstance(pending, Mapping) and touched(path, pending)
