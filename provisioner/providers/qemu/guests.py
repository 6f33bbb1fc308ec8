"""Creating, changing and deleting qemu guests: files, disks, and their QEMU process.

A create makes the guest's directory with its marker as ``creating.json``
(staged under another name and renamed into place, so the directory never
exists without it), then the disks and the cloud-init seed, starts QEMU when the guest should run,
and only then renames the marker to ``owner.json``: a create killed at any
instant leaves a directory the next plan deletes as a leftover, never a guest
that looks finished. A delete stops the process and removes the directory.

Powering off presses the ACPI power button (``system_powerdown``) and waits
up to the block's ``stop_timeout`` for the guest to shut down, then tells QEMU
to ``quit``, then kills it. A start waits ``start_timeout`` seconds and fails,
naming the guest and the last line of its console, if QEMU has exited by then.
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
import shutil
import time
from collections.abc import Callable, Sequence
from pathlib import Path

from provisioner.core.address import Kind, image_object_name
from provisioner.core.resources import Blob, LiveObject, Resource
from provisioner.core.specs import CloudInitSpec, GuestSpec
from provisioner.errors import ProviderError
from provisioner.providers.base import CallKind
from provisioner.providers.kit.changes import only_changed, within
from provisioner.providers.kit.nocloud import build_iso, seed_files
from provisioner.providers.kit.ownership import name_taken
from provisioner.providers.qemu import QemuConfig
from provisioner.providers.qemu.capacity import POOL
from provisioner.providers.qemu.client import QemuHost
from provisioner.providers.qemu.command import DiskFile, arch_of, command_line, disk_files
from provisioner.providers.qemu.files import GuestFiles, Tree
from provisioner.providers.qemu.images import Images
from provisioner.providers.qemu.networks import Networks
from provisioner.providers.qemu.ownership import Ownership, read_marker
from provisioner.providers.qemu.volumes import Volumes
from provisioner.testing import kill_point

POLL = 0.1
"""Seconds between two looks at a starting or stopping process."""
LIVE_FIELDS = ("power", "disks", "lifecycle")
"""Fields an update may change without restarting a running guest (power itself, disk
sizes: ``block_resize``, and the marker's prevent_destroy); any other change restarts it."""


class Guests:
    """The guests of one provider block."""

    def __init__(self, host: QemuHost, tree: Tree, ownership: Ownership,
                 settings: QemuConfig, accel: Callable[[], str],
                 resolve: Callable[[str], Path], networks: Networks,
                 volumes: Volumes, images: Images) -> None:
        self.host = host
        self.images = images
        self.networks = networks
        self.volumes = volumes
        self.tree = tree
        self.ownership = ownership
        self.settings = settings
        self.accel = accel
        self.resolve = resolve
        """A path the stack names (an image, a kernel), made absolute."""

    def create(self, resource: Resource) -> None:
        files = self.tree.guest(resource.name)
        what = str(resource.address)
        guest = GuestSpec.of(resource.spec)
        _refuse_unsupported(guest, what)
        if self._finished_before(files, resource):
            return
        self.networks.specs(guest, what)  # what it attaches is made: before anything is
        self._attached(guest, what)
        if files.directory.exists():
            shutil.rmtree(files.directory)  # our own leftover (checked above)
        self._make_directory(files, resource)
        kill_point(f"qemu:marked:{resource.address}")
        self._make_disks(files, guest, resource)
        seed = self._write_seed(files, resource)
        kill_point(f"qemu:disks-made:{resource.address}")
        if guest.running:
            self.start(files, guest, what, seed)
            kill_point(f"qemu:started:{resource.address}")
        os.replace(files.creating, files.marker)

    def _make_directory(self, files: GuestFiles, resource: Resource) -> None:
        """The guest's directory with ``creating.json`` in it, appearing at once."""
        staging = self.tree.staging(resource.name)
        if staging.exists():
            shutil.rmtree(staging)  # a create killed before its rename
        staging.mkdir(mode=0o700, parents=True)
        self.ownership.write(staging / files.creating.name, resource.address, resource.spec,
                             resource.lifecycle.prevent_destroy)
        kill_point(f"qemu:staged:{resource.address}")
        os.rename(staging, files.directory)

    def update(self, resource: Resource, live: LiveObject, changed: Sequence[str]) -> None:
        files = self.tree.guest(live.name)
        what = str(resource.address)
        written = only_changed(resource, live, changed)
        guest = GuestSpec.of(written.spec)
        _refuse_unsupported(guest, what)
        running = bool(live.running)
        restart = running and any(not any(within(path, field) for field in LIVE_FIELDS)
                                  or _structural_disk_change(path) for path in changed)
        if restart:
            self.stop(files, what)
            kill_point(f"qemu:stopped:{resource.address}")
            running = False
        self._grow_disks(files, guest, changed, running, what)
        self._make_disks(files, guest, resource)  # disks added (the guest is stopped now)
        if any(within(path, "networks") for path in changed):
            self._write_seed(files, resource)  # its network-config
        self.ownership.write(files.marker, resource.address, written.spec,
                             resource.lifecycle.prevent_destroy)
        seed = files.seed if files.seed.exists() else None
        if guest.running and not running:
            self.start(files, guest, what, seed)
        elif running and not guest.running:
            self.stop(files, what)

    def delete(self, live: LiveObject) -> None:
        files = self.tree.guest(live.name)
        marker = read_marker(files.marker) or read_marker(files.creating)
        if marker is not None and not self.ownership.owns_at(marker, live.marker_address):
            raise name_taken(str(live.address), "guest", live.name,
                             self.ownership.whose(marker))
        self.stop(files, str(live.address))
        kill_point(f"qemu:stopped:{live.address}")
        with contextlib.suppress(FileNotFoundError):
            files.socket.unlink()
        with self.host.stats.track(CallKind.WRITE):
            shutil.rmtree(files.directory, ignore_errors=True)
            shutil.rmtree(self.tree.staging(live.name), ignore_errors=True)
        self.tree.prune()

    def power_on(self, live: LiveObject, loadvm: str | None = None) -> None:
        """Start a stopped guest as its marker describes it; ``loadvm``: from that
        snapshot's running state (disks and memory) instead of booting."""
        files = self.tree.guest(live.name)
        seed = files.seed if files.seed.exists() else None
        self.start(files, GuestSpec.of(live.spec), str(live.address), seed, loadvm)

    def power_off(self, live: LiveObject) -> None:
        self.stop(self.tree.guest(live.name), str(live.address))

    def start(self, files: GuestFiles, guest: GuestSpec, what: str,
              seed: Path | None, loadvm: str | None = None) -> None:
        """Start the guest's QEMU and see that it stays up for ``start_timeout`` s."""
        if self.host.process(files.pidfile, files.process_name) is not None:
            return
        with contextlib.suppress(FileNotFoundError):
            files.socket.unlink()  # left by a QEMU that was killed
        nics = self.networks.devices(files.directory.name, guest, what)
        arguments = command_line(files, guest, self.accel(), seed, nics,
                                 self._attached(guest, what),
                                 arch_of(self.host.binary, self.settings.arch))
        self.host.launch([*arguments, *(["-loadvm", loadvm] if loadvm else [])], what)
        deadline = time.monotonic() + self.settings.start_timeout
        while time.monotonic() < deadline:
            if self.host.process(files.pidfile, files.process_name) is None:
                raise ProviderError(f"{what}: QEMU exited right after it started; the last "
                                    f"line of its console: {_last_line(files.serial_log)}",
                                    hint=f"see {files.serial_log}")
            time.sleep(POLL)

    def _attached(self, guest: GuestSpec, what: str) -> dict[int, DiskFile]:
        """The volumes the guest attaches, by index in ``disks``."""
        found = {}
        for index, disk in enumerate(guest.disks):
            if disk.volume:
                volume = self.volumes.disk(disk.volume, f"vol{index}")
                if volume is None:
                    raise ProviderError(f"{what}: disks[{index}]: the volume '{disk.volume}' "
                                        "is not one of this provider block's",
                                        hint="declare it under volumes: with this provider")
                found[index] = volume
        return found

    def stop(self, files: GuestFiles, what: str) -> None:
        """Power the guest off: ACPI power button, then ``quit``, then SIGKILL."""
        process = self.host.process(files.pidfile, files.process_name)
        if process is None:
            return
        self._tell(files, what, "system_powerdown")
        if self._gone_within(files, self.settings.stop_timeout):
            return
        self._tell(files, what, "quit")
        if not self._gone_within(files, 10.0):
            self.host.kill(process)
            self._gone_within(files, 10.0)

    def _tell(self, files: GuestFiles, what: str, command: str) -> None:
        """Send a command to a QEMU that may no longer answer (then it is killed)."""
        with contextlib.suppress(ProviderError), \
                self.host.qmp(files.socket, what, CallKind.WRITE) as qmp:
            qmp(command)

    def _gone_within(self, files: GuestFiles, seconds: float) -> bool:
        deadline = time.monotonic() + seconds
        while self.host.process(files.pidfile, files.process_name) is not None:
            if time.monotonic() >= deadline:
                return False
            time.sleep(POLL)
        return True

    def _finished_before(self, files: GuestFiles, resource: Resource) -> bool:
        """Whether an earlier attempt made this guest (the marker is ``owner.json``);
        raises when its directory is another's."""
        marker = read_marker(files.marker) or read_marker(files.creating)
        if marker is None:
            if files.directory.exists() and any(files.directory.iterdir()):
                raise name_taken(str(resource.address), "guest directory", resource.name,
                                 "untagged", hint=f"remove {files.directory} or rename the "
                                                  "guest")
            return False
        if not self.ownership.owns_at(marker, resource.address):
            raise name_taken(str(resource.address), "guest", resource.name,
                             self.ownership.whose(marker))
        return files.marker.exists()

    def _disk_sources(self, guest: GuestSpec,
                      resource: Resource) -> list[tuple[int | None, Path | None]]:
        """(size, image) of each own disk; disk 0 takes the guest's ``image:``."""
        if not guest.own_disks:
            return [(None, self._image(resource, "image", guest.image))] if guest.image else []
        sources: list[tuple[int | None, Path | None]] = []
        for index, disk in enumerate(guest.own_disks):
            path = f"disks[{index}].image" if disk.image else "image"
            image = disk.image or (guest.image if index == 0 else None)
            sources.append((disk.size, self._image(resource, path, image) if image else None))
        return sources

    def _image(self, resource: Resource, path: str, name: str) -> Path:
        """The file an ``image:`` names: a declared image's import, or a path."""
        declared = resource.references.get(path)
        if declared is None or declared.kind is not Kind.IMAGE:
            return self.resolve(name)
        found = self.images.path_of(image_object_name(resource.name_of(declared)))
        if found is None:
            raise ProviderError(f"{resource.address}: {declared} is not imported",
                                hint="apply it first (it is a dependency of this guest)")
        return found

    def _make_disks(self, files: GuestFiles, guest: GuestSpec, resource: Resource) -> None:
        """Make the disks the guest lacks, and delete those it no longer has (a disk's
        file is its data: one dropped from the stack is gone)."""
        what = str(resource.address)
        wanted = disk_files(files, guest)
        for disk, source in zip(wanted, self._disk_sources(guest, resource), strict=True):
            if not disk.path.exists():
                self._make_disk(disk, source, what)
        keep = {disk.path for disk in wanted}
        for path in files.directory.glob("disk*"):
            if path not in keep:
                path.unlink()

    def _make_disk(self, disk: DiskFile, source: tuple[int | None, Path | None],
                   what: str) -> None:
        size, image = source
        if image is None:
            self.host.image_create(disk.path, size, disk.format, what)
            return
        info = self.host.image_info(image, what)
        base_size = int(info.get("virtual-size", 0))
        wanted = size if size is not None and size > base_size else None
        self.host.image_create(disk.path, wanted, disk.format, what, backing=image,
                               backing_format=str(info.get("format", "qcow2")))

    def _write_seed(self, files: GuestFiles, resource: Resource) -> Path | None:
        """The NoCloud seed: the stack's cloud-init data and, unless it gives its own,
        the network-config of the guest's NICs (part of the instance-id, so a guest
        whose NICs change configures them again)."""
        guest = GuestSpec.of(resource.spec)
        cloud_init = guest.cloud_init
        if cloud_init is None or cloud_init.network_config is None:
            generated = self.networks.network_config(resource.name, guest,
                                                     str(resource.address))
            if generated is not None:
                cloud_init = dataclasses.replace(
                    cloud_init or CloudInitSpec(),
                    network_config=Blob.of("(network-config of its NICs)", generated))
        seed = seed_files(resource.name, cloud_init)
        if seed is None:
            with contextlib.suppress(FileNotFoundError):
                files.seed.unlink()
            return None
        files.seed.write_bytes(build_iso(seed))
        return files.seed

    def _grow_disks(self, files: GuestFiles, guest: GuestSpec, changed: Sequence[str],
                    running: bool, what: str) -> None:
        grown = {int(path[len("disks["):path.index("]")]) for path in changed
                 if path.startswith("disks[") and path.endswith("].size")}
        own = disk_files(files, guest)
        for index in sorted(grown):
            if index >= len(guest.disks) or guest.disks[index].attached:
                continue
            size = guest.disks[index].size
            own_index = sum(not disk.attached for disk in guest.disks[:index])
            if size is None or own_index >= len(own):
                continue
            disk = own[own_index]
            if running:
                with self.host.qmp(files.socket, what, CallKind.WRITE) as qmp:
                    qmp("block_resize", **{"node-name": disk.node, "size": size})
            else:
                self.host.image_resize(disk.path, size, disk.format, what)


def _refuse_unsupported(guest: GuestSpec, what: str) -> None:
    """What the plan refuses (checks.py), refused again by a create or update called
    without a plan."""
    for index, disk in enumerate(guest.disks):
        if disk.pool and disk.pool != POOL:
            raise ProviderError(f"{what}: disks[{index}]: a qemu guest's disks are files in "
                                f"its directory (the one pool is '{POOL}')")
    if guest.clone or guest.node or guest.autostart:
        raise ProviderError(f"{what}: clone, node and autostart are not supported by the "
                            "qemu provider")


def _structural_disk_change(path: str) -> bool:
    """A disk added, removed or changed other than by its size: needs a restart."""
    return within(path, "disks") and not (path.startswith("disks[") and path.endswith(
        "].size"))


def _last_line(log: Path) -> str:
    try:
        lines = [line for line in log.read_text(errors="replace").splitlines() if line.strip()]
    except OSError:
        return "(no console output)"
    return lines[-1].strip() if lines else "(no console output)"
