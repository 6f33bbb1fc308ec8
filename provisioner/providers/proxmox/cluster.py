"""The cluster as the last listing saw it, and the reads that refresh it.

``refresh`` re-reads the cluster listing (``/cluster/resources`` and
``/storage``; creates need it fresh: names, VMIDs and free memory change while
an apply runs); ``facts`` is the last one read; ``find`` looks one guest up in
a fresh listing of guests; ``config`` reads one guest's config with its
pending values.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from provisioner.core.address import Address
from provisioner.providers.base import CallKind
from provisioner.providers.proxmox.client import ProxmoxClient
from provisioner.providers.proxmox.facts import Facts, GuestRef
from provisioner.providers.proxmox.limits import VmidAllocator


@dataclass(frozen=True)
class ConfigView:
    """A guest's config now, and as it will be after a restart (pending applied)."""

    current: Mapping[str, Any]
    effective: Mapping[str, Any]
    pending: frozenset[str]
    """Keys with a pending value or a pending delete."""


def split_pending(entries: Any) -> ConfigView:
    """The ``/pending`` listing (``[{key, value, pending, delete}]``) as two configs."""
    current: dict[str, Any] = {}
    effective: dict[str, Any] = {}
    pending: set[str] = set()
    for entry in entries or []:
        key = str(entry.get("key"))
        if "value" in entry:
            current[key] = entry["value"]
            effective[key] = entry["value"]
        if "pending" in entry:
            effective[key] = entry["pending"]
            pending.add(key)
        if entry.get("delete"):
            effective.pop(key, None)
            pending.add(key)
    return ConfigView(current, effective, frozenset(pending))


class Cluster:
    """One provider block's view of the cluster: the last listing, and the reads."""

    def __init__(self, client: ProxmoxClient, vmids: VmidAllocator) -> None:
        self.client = client
        self.vmids = vmids
        """Learns the VMIDs in use from every listing."""
        self.facts = Facts()
        self.owned: dict[int, Address] = {}
        """VMID → address of this provider block's guests and containers (last listing)."""
        self._lock = threading.Lock()

    def refresh(self) -> Facts:
        """Read ``/cluster/resources`` and ``/storage`` (two LIST calls)."""
        resources = self.client.get(CallKind.LIST, "cluster resources", "cluster/resources")
        storages = self.client.get(CallKind.LIST, "storage configuration", "storage")
        facts = Facts.read(resources or [], storages or [])
        self.vmids.observe(facts.vmids())
        with self._lock:
            self.facts = facts
        return facts

    def known_facts(self) -> Facts:
        return self.facts if self.facts.loaded else self.refresh()

    def find(self, kind: str, vmid: int) -> GuestRef | None:
        """The guest with ``vmid`` in a fresh listing of guests (one LIST), or None.
        Node states come from the last full listing."""
        resources = self.client.get(CallKind.LIST, "cluster guests", "cluster/resources",
                                    type="vm")
        guests = Facts.read(resources or [], []).guests
        self.vmids.observe(g.vmid for g in guests)
        if not self.facts.loaded:
            self.refresh()
        return next((g for g in guests if g.kind == kind and g.vmid == vmid), None)

    def config(self, ref: GuestRef, what: str) -> ConfigView:
        """One READ: current values and pending ones."""
        return split_pending(self.client.get(CallKind.READ, what, f"{ref.path}/pending"))
