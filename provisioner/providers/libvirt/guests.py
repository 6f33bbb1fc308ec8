"""Guests (libvirt domains): create with their own disks, update, delete.

A guest's own disks are volumes named after it; attached ``volumes:`` are
never deleted with it. Changes that need the guest off are made with a clean
ACPI shutdown (then a hard stop after a timeout), a redefinition and a start.
"""

from __future__ import annotations

import re
import time
import xml.etree.ElementTree as ET
from collections.abc import Mapping, Sequence
from dataclasses import replace
from typing import Any

import libvirt

from provisioner.errors import CreateFailedError, ObjectNotFoundError, ProviderError
from provisioner.providers.base import CallKind
from provisioner.providers.libvirt.client import LibvirtClient
from provisioner.providers.libvirt.mapping import DiskPlan, domain_xml, guest_disks
from provisioner.providers.libvirt.naming import parse_volume_name, require_own
from provisioner.providers.libvirt.storage import Storage
from provisioner.resources import LiveObject, Resource
from provisioner.stack.address import Address, Kind

SHUTDOWN_TIMEOUT = 60.0
_UNDEFINE_FLAGS = (
    libvirt.VIR_DOMAIN_UNDEFINE_MANAGED_SAVE | libvirt.VIR_DOMAIN_UNDEFINE_SNAPSHOTS_METADATA
)
_LIVE_FIELDS = ("power", "autostart")


class Guests:
    """Domain operations for one stack."""

    def __init__(
        self, client: LibvirtClient, storage: Storage, stack: str, default_pool: str,
        domain_type: str,
    ) -> None:
        self.client = client
        self.storage = storage
        self.stack = stack
        self.default_pool = default_pool
        self.domain_type = domain_type

    def create(self, resource: Resource) -> libvirt.virDomain:
        """Disks, then the definition, then autostart and power. On failure,
        what was made is removed; what could not be is named in the error.
        A domain an earlier attempt defined is finished, never made again."""
        earlier = self._earlier_attempt(resource)
        if earlier is not None:
            self._apply_live_fields(earlier, resource, ("autostart", "power"))
            return earlier
        disks = self._disks(resource)
        made: list[DiskPlan] = []
        domain: libvirt.virDomain | None = None
        try:
            for disk in disks:
                if disk.own:
                    self.storage.create(disk.pool, disk.volume, disk.size, disk.format, disk.image)
                    made.append(disk)
            domain = self._define(resource, disks)
            self._apply_live_fields(domain, resource, ("autostart", "power"))
            return domain
        except ProviderError as exc:
            leftovers = self._roll_back(domain, made)
            what = str(resource.address)
            raise CreateFailedError(exc.message.removeprefix(f"{what}: "), exc.hint,
                                    address=what, leftovers=leftovers) from exc

    def update(
        self, resource: Resource, live: LiveObject, changed: Sequence[str]
    ) -> libvirt.virDomain:
        """Grow disks live, add new disks, redefine (stopping first when a changed
        field needs it), remove disks no longer declared, then set autostart and power.
        Top-level fields ``changed`` does not touch keep their live value."""
        resource = _only_changed(resource, live, changed)
        domain = self._lookup(live)
        disks = self._disks(resource)
        redefined = [path for path in changed if not path.startswith(_LIVE_FIELDS)]
        for path in redefined:
            if _is_size_path(path):
                disk = disks[_index_of(path)]
                self.storage.resize(disk.pool, disk.volume, int(disk.size or 0))
        for disk in disks:
            if disk.own and self.storage.lookup(disk.pool, disk.volume) is None:
                self.storage.create(disk.pool, disk.volume, disk.size, disk.format, disk.image)
        old_volumes = self._own_volumes(domain, live.name)
        if any(not _is_size_path(path) for path in redefined) and self._is_running(domain):
            self._shutdown(domain, resource)
        domain = self._define(resource, disks, live.id)
        kept = {(disk.pool, disk.volume) for disk in disks if disk.own}
        for pool, name in old_volumes:
            if (pool, name) not in kept:
                self.storage.delete(pool, name)
        self._apply_live_fields(domain, resource, ("autostart", "power"))
        return domain

    def delete(self, live: LiveObject) -> None:
        """Stop, delete own disks, undefine. Already gone is success.

        The definition goes last: if a disk cannot be deleted, the guest is
        still listed (and tagged), so the next apply deletes it again instead of
        leaving volumes no listing would ever show."""
        try:
            domain = self._lookup(live)
        except ObjectNotFoundError:
            return
        what = str(live.address)
        try:
            own = self._own_volumes(domain, live.name)
            if self._is_running(domain):
                self.client.call(CallKind.WRITE, what, domain.destroy)
            for pool, name in own:
                self.storage.delete(pool, name)
            self.client.call(CallKind.WRITE, what, domain.undefineFlags, _UNDEFINE_FLAGS)
        except ObjectNotFoundError:
            pass  # deleted meanwhile: the goal is reached

    def _disks(self, resource: Resource) -> list[DiskPlan]:
        attached: dict[str, tuple[str, str]] = {}
        for disk in resource.spec.get("disks") or []:
            volume = disk.get("volume")
            if volume and volume not in attached:
                name = resource.name_of(Address(Kind.VOLUME, volume))
                names = [f"{self.stack}__{name}.qcow2", f"{self.stack}__{name}.img"]
                found = self.storage.find(names)
                if found is None:
                    raise ProviderError(f"{resource.address}: volume '{volume}' does not exist",
                                        hint=f"apply volumes.{volume} first")
                attached[volume] = found
        return guest_disks(resource, self.stack, self.default_pool, attached)

    def _define(
        self, resource: Resource, disks: Sequence[DiskPlan], uuid: str | None = None
    ) -> libvirt.virDomain:
        xml = domain_xml(resource, self.stack, self.domain_type, disks, uuid)
        return self.client.call(CallKind.WRITE, f"{resource.address}",
                                self.client.conn.defineXML, xml)

    def _apply_live_fields(
        self, domain: libvirt.virDomain, resource: Resource, fields: Sequence[str]
    ) -> None:
        what = str(resource.address)
        if "autostart" in fields:
            want = 1 if resource.spec.get("autostart") else 0
            self.client.call(CallKind.WRITE, what, domain.setAutostart, want)
        if "power" in fields:
            running = self._is_running(domain)
            if resource.spec.get("power") == "running" and not running:
                self.client.call(CallKind.WRITE, what, domain.create)
            elif resource.spec.get("power") == "stopped" and running:
                self._shutdown(domain, resource)

    def _shutdown(self, domain: libvirt.virDomain, resource: Resource) -> None:
        """ACPI shutdown; a hard stop if the guest is still running after the timeout."""
        what = str(resource.address)
        self.client.call(CallKind.WRITE, what, domain.shutdown)
        deadline = time.monotonic() + SHUTDOWN_TIMEOUT
        while self._is_running(domain) and time.monotonic() < deadline:
            time.sleep(0.2)
        if self._is_running(domain):
            self.client.call(CallKind.WRITE, what, domain.destroy)

    def _is_running(self, domain: libvirt.virDomain) -> bool:
        return bool(self.client.call(CallKind.READ, domain.name(), domain.isActive))

    def _lookup(self, live: LiveObject) -> libvirt.virDomain:
        return self.client.call(CallKind.READ, str(live.address),
                                self.client.conn.lookupByUUIDString, live.id)

    def _earlier_attempt(self, resource: Resource) -> libvirt.virDomain | None:
        """The domain an earlier create of this resource defined, or None. A domain
        of that name owned by anything else is refused: its disks share our names."""
        what = str(resource.address)
        try:
            domain = self.client.call(CallKind.READ, what,
                                      self.client.conn.lookupByName, resource.name)
        except ObjectNotFoundError:
            return None
        root = ET.fromstring(self.client.call(CallKind.READ, what, domain.XMLDesc, 0))
        require_own(root, self.stack, resource.address, "domain")
        return domain

    def _own_volumes(self, domain: libvirt.virDomain, name: str) -> list[tuple[str, str]]:
        root = ET.fromstring(self.client.call(CallKind.READ, name, domain.XMLDesc, 0))
        owned = []
        for source in root.findall("devices/disk/source"):
            pool, volume = source.get("pool"), source.get("volume")
            parsed = parse_volume_name(volume or "")
            if (pool and volume and parsed and parsed.stack == self.stack
                    and parsed.disk is not None):
                owned.append((pool, volume))
        return owned

    def _roll_back(self, domain: libvirt.virDomain | None, made: Sequence[DiskPlan]) -> list[str]:
        leftovers: list[str] = []
        if domain is not None:
            try:
                if domain.isActive():
                    domain.destroy()
                domain.undefineFlags(_UNDEFINE_FLAGS)
            except libvirt.libvirtError:
                leftovers.append(f"domain {domain.name()}")
        for disk in made:
            try:
                self.storage.delete(disk.pool, disk.volume)
            except ProviderError:
                leftovers.append(f"volume {disk.pool}/{disk.volume}")
        return leftovers


def _only_changed(resource: Resource, live: LiveObject, changed: Sequence[str]) -> Resource:
    """The resource as it must be written: what is left out of ``changed`` (such as
    ``lifecycle.ignore_changes`` fields) keeps the value the guest has now."""
    touched = {re.split(r"[.\[]", path, maxsplit=1)[0] for path in changed}
    spec = {key: value if key in touched or key not in live.spec else live.spec[key]
            for key, value in resource.spec.items()}
    spec["networks"] = _keep_macs(spec.get("networks") or [], live.spec.get("networks") or [])
    return replace(resource, spec=spec)


def _keep_macs(
    wanted: Sequence[Mapping[str, Any]], current: Sequence[Mapping[str, Any]]
) -> list[dict[str, Any]]:
    """NICs without a declared MAC keep the one they have (same slot, same attachment),
    so redefining a guest does not renumber its addresses."""
    kept = []
    for index, declared in enumerate(wanted):
        nic = dict(declared)
        old = current[index] if index < len(current) else None
        same = old is not None and all(old.get(k) == nic.get(k)
                                       for k in ("network", "host_network", "bridge"))
        if nic.get("mac") is None and same and old is not None:
            nic["mac"] = old.get("mac")
        kept.append(nic)
    return kept


def _is_size_path(path: str) -> bool:
    return path.startswith("disks[") and path.endswith("].size")


def _index_of(path: str) -> int:
    return int(path.split("[", 1)[1].split("]", 1)[0])
