"""list_managed and read-backs: the block's VMs from the bulk read, one VM after a change.

Every VM and disk of the pool is classified from the one bulk read
(``facts.read_pool``; no call per VM): a VM whose owner key names this stack and
block becomes a LiveObject; one still being created (creating key or creating
name) is a leftover of an interrupted create; a disk of this block attached to
no VM is a leftover too (a create interrupted between ``VDI.create`` and its
``VBD.create``, or a delete between its VM and its disks), but never a
snapshot's disk (it carries the guest's disk marker; ``snapshots.py``), and
snapshot VMs are neither guests nor leftovers (``Pool.vms``); any other VM or
template name is foreign, so a guest of the same name is refused at plan
time, and its NICs' MACs are taken (``mac_holders``).
"""

from __future__ import annotations

import threading
from typing import Any

from provisioner.core.address import Kind
from provisioner.core.resources import LiveObject
from provisioner.errors import ObjectNotFoundError
from provisioner.providers.base import Inventory
from provisioner.providers.kit.macs import MacHolder, mac_holders
from provisioner.providers.kit.marker import Marker
from provisioner.providers.xenserver.client import XapiClient
from provisioner.providers.xenserver.facts import Pool, Record, read_pool
from provisioner.providers.xenserver.ownership import Ownership, creating_marker, marker_of
from provisioner.providers.xenserver.read import live_object

LEFTOVER_DISK = "disk"
"""``attributes["leftover"]`` of a disk left without its VM (delete destroys a VDI)."""


class PoolCache:
    """The last bulk read, shared by the plan-time checks, capacity and the writes."""

    def __init__(self, client: XapiClient) -> None:
        self.client = client
        self._pool: Pool | None = None
        self._lock = threading.Lock()

    def refresh(self) -> Pool:
        pool = read_pool(self.client)
        with self._lock:
            self._pool = pool
        return pool

    def pool(self) -> Pool:
        """The last read, or a new one if there was none."""
        with self._lock:
            pool = self._pool
        return pool if pool is not None else self.refresh()


class Lister:
    """Finds one provider block's VMs and disks."""

    def __init__(self, client: XapiClient, ownership: Ownership, cache: PoolCache) -> None:
        self.client = client
        self.ownership = ownership
        self.cache = cache

    def inventory(self) -> Inventory:
        pool = self.cache.refresh()
        managed: list[LiveObject] = []
        leftovers: list[LiveObject] = []
        foreign: dict[str, str] = {}
        provider = self.ownership.provider
        for ref, vm in pool.vms():
            marker, creating = marker_of(vm), creating_marker(vm)
            if creating is not None and self.ownership.owns(creating):
                leftovers.append(_leftover(ref, vm, creating, provider, "interrupted create"))
            elif marker is not None and self.ownership.owns(marker):
                managed.append(live_object(ref, vm, marker, pool, provider))
            elif (owner := self.ownership.stranger(creating or marker)) is not None:
                foreign[str(vm.get("name_label", ""))] = owner
        for name in pool.templates():
            foreign.setdefault(name, "a template")
        leftovers += self._loose_disks(pool)
        return Inventory(managed=managed, foreign={Kind.GUEST: foreign}, leftovers=leftovers)

    def _loose_disks(self, pool: Pool) -> list[LiveObject]:
        """This block's disks that no VBD attaches (their VM is gone or never got them)."""
        found = []
        for ref, vdi in pool.of("VDI").items():
            marker = marker_of(vdi)
            if marker is None or not self.ownership.owns(marker) or vdi.get("is_a_snapshot"):
                continue  # a snapshot's disk goes with its snapshot (snapshots.py)
            if not any(pool.get("VBD", vbd) is not None for vbd in vdi.get("VBDs") or ()):
                found.append(_leftover(ref, vdi, marker, self.ownership.provider,
                                       LEFTOVER_DISK))
        return found

    def mac_holders(self, pool: Pool) -> dict[str, MacHolder]:
        """The MACs of the VIFs of every VM that is not this stack's (from the bulk read)."""
        found = []
        for _ref, vm in pool.vms():
            owner = self.ownership.stranger(creating_marker(vm) or marker_of(vm))
            if owner is not None:
                macs = [str(vif.get("MAC", "")).lower() for _, vif in pool.nics(vm)]
                found.append((MacHolder(str(vm.get("name_label", "")), owner), macs))
        return mac_holders(found)

    def one(self, ref: str, what: str) -> LiveObject:
        """One of this block's VMs as the next plan will see it (after a change): its
        record and its disks' and NICs' records (READ calls), the rest from the last
        read. Raises ObjectNotFoundError when it is gone or not this block's."""
        try:
            vm = self.client.call("VM.get_record", ref, what=what)
        except ObjectNotFoundError:
            raise ObjectNotFoundError(f"{what}: the VM is gone") from None
        pool = self._with(self.cache.pool(), ref, vm)
        marker = marker_of(vm)
        if marker is None or not self.ownership.owns(marker):
            raise ObjectNotFoundError(f"{what}: the VM has no ownership tag of this stack")
        return live_object(ref, vm, marker, pool, self.ownership.provider)

    def _with(self, pool: Pool, ref: str, vm: Record) -> Pool:
        """``pool`` with one VM's records read again."""
        records = {cls: dict(pool.of(cls)) for cls in ("VM", "VBD", "VDI", "VIF")}
        records["VM"][ref] = vm
        for vbd_ref in vm.get("VBDs") or ():
            vbd = self.client.call("VBD.get_record", vbd_ref)
            records["VBD"][vbd_ref] = vbd
            vdi_ref = vbd.get("VDI")
            if vdi_ref and vdi_ref != "OpaqueRef:NULL":
                records["VDI"][vdi_ref] = self.client.call("VDI.get_record", vdi_ref)
        for vif_ref in vm.get("VIFs") or ():
            records["VIF"][vif_ref] = self.client.call("VIF.get_record", vif_ref)
        return Pool({**pool.records, **records})


def _leftover(ref: str, record: Record, marker: Marker, provider: str,
              why: str) -> LiveObject:
    name = str(record.get("name_label", ""))
    piece = f"disk '{name}' without its VM" if why == LEFTOVER_DISK else \
        "a VM whose create did not finish"
    attributes: dict[str, Any] = {"leftover": why, "piece": piece}
    return LiveObject(address=marker.address, provider=provider,
                      name=str(record.get("name_label", "")), id=ref, spec={},
                      attributes=attributes,
                      running=str(record.get("power_state", "")) == "Running")
