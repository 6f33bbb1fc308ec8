"""The bulk read: one scan of the provider's directory, then what each running guest's
QEMU says over QMP.

A guest's spec is what its marker holds (the spec as applied: what a stopped
guest starts with), with what QEMU really runs in its place: vCPUs and memory
of a running guest from QMP, the power state from its process, the size of
each disk from the image itself (QMP when running, the image header when not).
So a guest killed by hand plans as ``power: stopped -> running``, and a disk
grown by hand shows. A guest directory whose marker is still ``creating.json``
is the leftover of an interrupted create.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from provisioner.core.address import Address, Kind
from provisioner.core.resources import PROTECTION_MARK, LiveObject
from provisioner.core.specs import GuestSpec
from provisioner.errors import ProviderError
from provisioner.providers.base import CallKind, Inventory
from provisioner.providers.kit.marker import Marker
from provisioner.providers.qemu import GuestOptions
from provisioner.providers.qemu.client import NotRunningError, QemuHost
from provisioner.providers.qemu.command import disk_files
from provisioner.providers.qemu.files import CREATING_FILE, MARKER_FILE, GuestFiles, Tree
from provisioner.providers.qemu.networks import Networks
from provisioner.providers.qemu.ownership import Ownership, read_marker
from provisioner.providers.qemu.sizes import image_size

STALE = "(changed since the guest started)"
RUNNING_STATES = frozenset({"running", "paused", "suspended", "inmigrate", "postmigrate",
                            "prelaunch", "restore-vm", "save-vm", "debug"})
"""QMP ``query-status`` states of a guest that holds its vCPUs and memory."""


class Lister:
    """Reads one provider block's guests."""

    def __init__(self, host: QemuHost, tree: Tree, ownership: Ownership,
                 networks: Networks) -> None:
        self.host = host
        self.networks = networks
        self.tree = tree
        self.ownership = ownership

    def inventory(self, networks: Mapping[str, LiveObject] | None = None) -> Inventory:
        """Every guest of this block (``networks``: the block's networks, by name, as
        the same bulk read found them)."""
        managed: list[LiveObject] = []
        leftovers: dict[str, LiveObject] = {}  # by guest: staged and renamed are one
        with self.host.stats.track(CallKind.LIST):
            markers = self.tree.markers()
        for path in markers:
            marker = read_marker(path)
            if marker is None or not self.ownership.owns(marker):
                continue
            files = self.tree.guest_of(path.parent)
            if files is None:
                continue  # not a guest's directory of this block
            if path.name == CREATING_FILE:
                leftovers[files.directory.name] = self.read(files, marker, leftover=True)
            elif path.name == MARKER_FILE and path.parent == files.directory:
                managed.append(self.read(files, marker, networks=networks))
        return Inventory(managed, leftovers=list(leftovers.values()))

    def guest(self, name: str, what: str) -> LiveObject:
        """One guest read back after a change."""
        files = self.tree.guest(name)
        marker = read_marker(files.marker)
        if marker is None:
            raise ProviderError(f"{what}: the guest's marker {files.marker} is gone")
        return self.read(files, marker)

    def read(self, files: GuestFiles, marker: Marker, leftover: bool = False,
             networks: Mapping[str, LiveObject] | None = None) -> LiveObject:
        applied = dict(marker.memo)
        guest = GuestSpec.of(applied)
        process = None if leftover else self.host.process(files.pidfile, files.process_name)
        spec = dict(applied)
        # every option with its value in effect, so that setting one the stack left out
        # (and so the marker too) is a change
        spec["options"] = guest.options_as(GuestOptions).model_dump(mode="json")
        running = False
        if process is not None:
            try:
                running = self._read_running(files, spec, str(marker.address))
            except NotRunningError:
                running = False  # it quit between the pidfile and the socket
        spec["power"] = "running" if running else "stopped"
        if not running:
            spec["disks"] = _disks_at_rest(files, guest, applied.get("disks"))
        elif process is not None and guest.networks:
            stale = self.networks.stale_nics(process.pid, files.directory.name, guest,
                                             networks)
            spec["networks"] = _with_stale(applied.get("networks"), stale)
        attributes: dict[str, Any] = {
            "directory": str(files.directory), "serial_log": str(files.serial_log),
            "state": spec["power"], PROTECTION_MARK: marker.protected,
        }
        if process is not None:
            attributes["pid"] = process.pid
        if guest.networks:
            attributes["macs"] = [self.networks.mac(files.directory.name, index, nic)
                                  for index, nic in enumerate(guest.networks)]
        deps = (*(Address(Kind.NETWORK, nic.network) for nic in guest.networks if nic.network),
                *(Address(Kind.VOLUME, disk.volume) for disk in guest.disks if disk.volume))
        return LiveObject(marker.address, self.ownership.provider, files.directory.name,
                          files.process_name, spec, attributes, running=running, deps=deps)

    def _read_running(self, files: GuestFiles, spec: dict[str, Any], what: str) -> bool:
        """Fill ``spec`` with what the running QEMU reports; whether its guest runs."""
        with self.host.qmp(files.socket, what) as qmp:
            status = qmp("query-status")
            cpus = qmp("query-cpus-fast")
            memory = qmp("query-memory-size-summary")
            blocks = qmp("query-block")
        state = str(status.get("status", ""))
        if state not in RUNNING_STATES:
            return False  # shut down, QEMU still up: a stopped guest
        spec["cpus"] = len(cpus)
        spec["memory"] = int(memory.get("base-memory", 0)) + int(memory.get("plugged-memory", 0))
        sizes = {str(block.get("qdev", "")).split("/")[0]: block for block in blocks}
        spec["disks"] = _with_sizes(spec.get("disks"), {
            name.removesuffix("-device"): int(found["inserted"]["image"]["virtual-size"])
            for name, found in sizes.items() if found.get("inserted")})
        return True


def _with_stale(declared: Any, stale: list[int]) -> Any:
    """The applied NICs, each of ``stale`` named as changed since the guest started."""
    if not stale or not isinstance(declared, list):
        return declared
    return [{**nic, "network": f"{nic.get('network')} {STALE}"} if index in stale
            and isinstance(nic, Mapping) else nic for index, nic in enumerate(declared)]


def _with_sizes(declared: Any, sizes: Mapping[str, int]) -> Any:
    """The applied disks with the sizes found (``diskN`` → bytes), where a size was
    declared (a disk that takes its image's size stays without one)."""
    if not isinstance(declared, list):
        return declared
    disks = []
    own = 0
    for disk in declared:
        entry = dict(disk) if isinstance(disk, Mapping) else disk
        if isinstance(entry, dict) and not entry.get("volume"):
            found = sizes.get(f"disk{own}")
            if entry.get("size") is not None and found is not None:
                entry["size"] = found
            own += 1
        disks.append(entry)
    return disks


def _disks_at_rest(files: GuestFiles, guest: GuestSpec, declared: Any) -> Any:
    """The applied disks with each size read from its image file."""
    sizes = {disk.node: size for disk in disk_files(files, guest)
             if (size := image_size(disk.path, disk.format)) is not None}
    return _with_sizes(declared, sizes)
