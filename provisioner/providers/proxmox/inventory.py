"""The bulk read: everything one provider block owns on a Proxmox cluster.

Two listings, whatever the number of guests (LIST calls): ``/cluster/resources``
(every node, storage and guest, with its tags) and ``/storage`` (storage
configs). Guests and containers tagged with this stack then have their
config read, in parallel (at most ``read_parallel`` at once), one READ each:
``/pending`` carries the current values and those waiting for a restart, and
the description with the marker: 2 LIST calls and one READ per guest of the
stack, and one more READ per running QEMU guest whose guest agent is enabled (its
addresses: ``agent_addresses.py``). What the rest of a plan adds (capacity,
checks) is in the "Plan cost" section of docs/providers/proxmox.md.
"""

from __future__ import annotations

from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor

from provisioner.core.address import Kind
from provisioner.core.resources import LiveObject, Resource
from provisioner.errors import ObjectNotFoundError, ProviderError
from provisioner.providers.base import Inventory
from provisioner.providers.kit.ownership import UNTAGGED, stack_owner
from provisioner.providers.proxmox.agent_addresses import AgentAddresses, agent_enabled
from provisioner.providers.proxmox.cluster import ConfigView
from provisioner.providers.proxmox.context import Context
from provisioner.providers.proxmox.facts import GuestRef
from provisioner.providers.proxmox.guests import Guests
from provisioner.providers.proxmox.ownership import parse_marker, stack_of
from provisioner.providers.proxmox.storages import Storages

WANT_ADDRESS = ("ip", "ssh", "cloud-init")
"""``wait_for`` values that need the guest's address."""


class Lister:
    """Reads one provider block's guests, containers and storages."""

    def __init__(self, ctx: Context, kinds: Sequence[Guests], storages: Storages) -> None:
        self.ctx = ctx
        self.kinds = {kind.kind: kind for kind in kinds}
        self.storages = storages
        self.agent = AgentAddresses(ctx.client)

    def inventory(self) -> Inventory:
        facts = self.ctx.cluster.refresh()
        stack = self.ctx.owner.stack
        foreign: dict[Kind, dict[str, str]] = {k.stack_kind: {} for k in self.kinds.values()}
        ours: list[GuestRef] = []
        for ref in facts.guests:
            kind = self.kinds.get(ref.kind)
            if kind is None:
                continue
            owner = stack_of(ref.tags)
            if owner == stack and not ref.template:
                ours.append(ref)
            elif owner != stack:
                foreign[kind.stack_kind][ref.name] = stack_owner(owner)
        self._refuse_offline(ours)
        managed: list[LiveObject] = []
        for ref, read in zip(ours, self._read_all(ours), strict=True):
            if read is None:
                continue  # deleted between the listing and the read
            view, addresses = read
            kind = self.kinds[ref.kind]
            marker = parse_marker(view.current.get("description"))
            if marker is not None and self.ctx.owner.owns(marker):
                managed.append(kind.live_object(ref, view, marker, addresses))
            elif marker is None or marker.stack != stack:
                foreign[kind.stack_kind][ref.name] = UNTAGGED
        self.ctx.cluster.owned = {int(obj.id): obj.address for obj in managed}
        managed += self.storages.listed()
        return Inventory(managed=managed, foreign=foreign)

    def _read_all(self, refs: list[GuestRef]) -> list[tuple[ConfigView, list[str]] | None]:
        if not refs:
            return []
        workers = min(self.ctx.settings.read_parallel, len(refs))
        with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="pve-read") as pool:
            return list(pool.map(self._read, refs))

    def _read(self, ref: GuestRef) -> tuple[ConfigView, list[str]] | None:
        what = f"{ref.kind} {ref.vmid} ({ref.name})"
        try:
            view = self.ctx.cluster.config(ref, what)
        except ObjectNotFoundError:
            return None
        return view, self.addresses(ref, view, what)

    def addresses(self, ref: GuestRef, view: ConfigView, what: str) -> list[str]:
        """What a running QEMU guest's agent reports (none asked for otherwise)."""
        if ref.kind != "qemu" or not ref.running or not agent_enabled(view.current):
            return []
        kind = self.kinds[ref.kind]
        return self.agent.read(ref.path, what, kind.attributes(view.current)["macs"])

    def _refuse_offline(self, refs: list[GuestRef]) -> None:
        """Guests on an offline node cannot be read: rather no plan than a wrong one
        (a guest missing from the listing would be planned as a create)."""
        facts = self.ctx.cluster.facts
        down = [r for r in refs if r.node in facts.nodes and not facts.nodes[r.node].online]
        if down:
            nodes = sorted({r.node for r in down})
            names = ", ".join(f"{r.name} (VMID {r.vmid})" for r in down[:5])
            more = f" and {len(down) - 5} more" if len(down) > 5 else ""
            raise ProviderError(
                f"node {', '.join(nodes)} is offline: this stack's {names}{more} cannot be read",
                hint="bring the node back (or fence it and move its guests), then plan again; "
                     "nothing was changed")

    def one(self, kind: Guests, vmid: int, what: str) -> LiveObject:
        """One guest as the next plan will see it (after a create or an update)."""
        ref = self.ctx.cluster.find(kind.kind, vmid)
        if ref is None:
            raise ObjectNotFoundError(f"{what}: {kind.noun} {vmid} is gone")
        view = self.ctx.cluster.config(ref, what)
        marker = parse_marker(view.current.get("description"))
        if marker is None or not self.ctx.owner.owns(marker):
            raise ObjectNotFoundError(f"{what}: {kind.noun} {vmid} has no marker of this stack")
        return kind.live_object(ref, view, marker, self.addresses(ref, view, what))

    def ready(self, kind: Guests, vmid: int, resource: Resource) -> LiveObject:
        """``one``, after waiting for the guest agent's address when the guest declares
        ``wait_for`` (ip, or ssh and cloud-init which need one), runs, and has no static
        address. A guest whose agent is off cannot give one: ProviderError with the way."""
        what = str(resource.address)
        live = self.one(kind, vmid, what)
        if resource.settings.get("wait_for") not in WANT_ADDRESS or not live.running \
                or live.attributes.get("ip") or kind.kind != "qemu":
            return live
        ref = self.ctx.cluster.find(kind.kind, vmid)
        if ref is None:
            raise ObjectNotFoundError(f"{what}: {kind.noun} {vmid} is gone")
        view = self.ctx.cluster.config(ref, what)
        if not agent_enabled(view.current):
            raise ProviderError(f"{what}: no static address and no guest agent to ask for one "
                                f"(wait_for: {resource.settings.get('wait_for')})",
                                hint="set options.agent: true (the image must run "
                                     "qemu-guest-agent) or a static options.cloud_init.ipconfig")
        timeout = float(resource.settings.get("wait_timeout", 300))
        self.agent.wait(ref.path, what, kind.attributes(view.current)["macs"], timeout)
        return self.one(kind, vmid, what)

