"""list_managed and read-backs: the block's VMs from the bulk read, one VM after a change.

Every VM of the inventory is classified from the one bulk read (no call per
VM): this block's (its ownership tag names the stack and the block) becomes
a LiveObject; one still marked as being created is a leftover of an
interrupted create, deleted by the next apply; any other VM or template is a
foreign name, so a guest of the same name is refused at plan time instead of
colliding at apply time, and its NICs' MACs are taken (``mac_holders``).
"""

from __future__ import annotations

import threading

from provisioner.core.address import Kind
from provisioner.core.resources import LiveObject
from provisioner.errors import ObjectNotFoundError
from provisioner.providers.base import Inventory
from provisioner.providers.kit.macs import MacHolder, mac_holders
from provisioner.providers.kit.marker import Marker
from provisioner.providers.vsphere import VsphereConfig, devices
from provisioner.providers.vsphere.client import VsphereClient
from provisioner.providers.vsphere.collect import read_all, read_vm
from provisioner.providers.vsphere.facts import Facts, VmRecord
from provisioner.providers.vsphere.ownership import (
    CREATING_KEY,
    Ownership,
    custom_value,
    decode,
    extra_config,
    split_annotation,
)
from provisioner.providers.vsphere.read import image_live, live_object


class FactsCache:
    """The last bulk read, shared by the plan-time checks, capacity and the writes."""

    def __init__(self, client: VsphereClient, settings: VsphereConfig) -> None:
        self.client = client
        self.settings = settings
        self._facts: Facts | None = None
        self._lock = threading.Lock()

    def refresh(self) -> Facts:
        facts = read_all(self.client, self.settings.attribute)
        with self._lock:
            self._facts = facts
        return facts

    def facts(self) -> Facts:
        """The last read, or a new one if there was none."""
        with self._lock:
            facts = self._facts
        return facts if facts is not None else self.refresh()

    def set_field_key(self, key: int) -> None:
        with self._lock:
            if self._facts is not None:
                self._facts.field_key = key


class Lister:
    """Finds one provider block's VMs."""

    def __init__(self, client: VsphereClient, ownership: Ownership, cache: FactsCache) -> None:
        self.client = client
        self.ownership = ownership
        self.cache = cache

    def inventory(self) -> Inventory:
        facts = self.cache.refresh()
        managed: list[LiveObject] = []
        leftovers: list[LiveObject] = []
        foreign: dict[str, str] = {}
        for record in facts.vms:
            notes, marker = self.marker_of(record, facts)
            creating = creating_marker(record)
            if creating is not None and self.ownership.owns(creating):
                leftovers.append(_leftover(record, creating, self.ownership.provider))
            elif self.ownership.owns(marker) and marker is not None and not record.template:
                managed.append(live_object(record, marker, notes, facts,
                                           self.ownership.provider))
            elif self.ownership.owns(marker) and marker is not None \
                    and marker.address.kind is Kind.IMAGE:
                managed.append(image_live(record, marker, self.ownership.provider))
            elif (owner := self.ownership.stranger(creating or marker)) is not None:
                foreign[record.name] = owner
        return Inventory(managed=managed, foreign={Kind.GUEST: foreign}, leftovers=leftovers)

    def mac_holders(self, facts: Facts) -> dict[str, MacHolder]:
        """The MACs of the NICs of every VM and template that is not this stack's, from
        the bulk read (which has every VM's devices: no further call)."""
        found = []
        for record in facts.vms:
            _notes, marker = self.marker_of(record, facts)
            creating = creating_marker(record)
            owner = self.ownership.stranger(creating or marker)
            if owner is not None:
                nics = devices.nics(list(record.get("config.hardware.device", [])))
                found.append((MacHolder(record.name, owner), [n.mac for n in nics if n.mac]))
        return mac_holders(found)

    def marker_of(self, record: VmRecord, facts: Facts) -> tuple[str, Marker | None]:
        """(the user's notes, the ownership tag) of a VM: the custom attribute on vCenter,
        the last line of the annotation on a standalone ESXi host."""
        annotation = str(record.get("config.annotation", ""))
        if self.client.is_vcenter:
            return annotation, decode(custom_value(record.get("customValue"), facts.field_key))
        return split_annotation(annotation)

    def one(self, moid: str, what: str) -> LiveObject:
        """One of this block's VMs as the next plan will see it (after a change).
        Raises ObjectNotFoundError when it is gone or not tagged as this block's."""
        record = read_vm(self.client, moid, what)
        if record is None:
            raise ObjectNotFoundError(f"{what}: the VM is gone")
        facts = self.cache.facts()
        if not _covers(facts, record):
            facts = self.cache.refresh()  # it moved somewhere the last read did not see
        notes, marker = self.marker_of(record, facts)
        if marker is None or not self.ownership.owns(marker):
            raise ObjectNotFoundError(f"{what}: the VM has no ownership tag of this stack")
        return live_object(record, marker, notes, facts, self.ownership.provider)


def creating_marker(record: VmRecord) -> Marker | None:
    """The create-in-progress marker a VM still carries (an interrupted create), if any."""
    return decode(extra_config(record.get("config.extraConfig")).get(CREATING_KEY))


def _leftover(record: VmRecord, marker: Marker, provider: str) -> LiveObject:
    return LiveObject(address=marker.address, provider=provider, name=record.name,
                      id=record.moid, spec={}, attributes={"leftover": "interrupted create"},
                      running=str(record.get("runtime.powerState")) == "poweredOn")


def _covers(facts: Facts, record: VmRecord) -> bool:
    """Whether the facts know the objects a VM refers to (host, folder, pool)."""
    refs = [record.get(path) for path in ("runtime.host", "parent", "resourcePool")]
    return all(ref is None or facts.entity(str(ref._moId)) is not None for ref in refs)
