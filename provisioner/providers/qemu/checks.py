"""Plan-time checks of a qemu provider block and its guests: the programs it runs,
the files guests name (images, kernels), and what this provider does not do."""

from __future__ import annotations

import shutil
from collections.abc import Callable, Sequence
from pathlib import Path

from provisioner.core.address import Kind
from provisioner.core.problems import Problem
from provisioner.core.resources import Resource
from provisioner.core.specs import GuestSpec, NetworkSpec, VolumeSpec
from provisioner.providers.kit.images import declared_images, image_problems
from provisioner.providers.qemu import GuestOptions, QemuConfig
from provisioner.providers.qemu.capacity import POOL
from provisioner.providers.qemu.client import INSTALL_HINT
from provisioner.providers.qemu.nic_checks import network_problems, nic_problems


def plan_checks(resources: Sequence[Resource], settings: QemuConfig, block: str,
                binary: str, resolve: Callable[[str], Path],
                accel: Callable[[], str]) -> list[Problem]:
    problems = _programs(settings, block, binary)
    if settings.accel == "kvm" and accel() != "kvm":
        problems.append(Problem(
            "KVM is not usable here (/dev/kvm cannot be opened, or the CPU has no "
            "hardware virtualization)", path=f"providers.{block}.accel",
            hint="use accel: tcg or auto, or give this user access to /dev/kvm"))
    networks = {r.name: NetworkSpec.of(r.spec) for r in resources if r.kind is Kind.NETWORK}
    volumes = {r.name for r in resources if r.kind is Kind.VOLUME}
    guests = [(r, GuestSpec.of(r.spec)) for r in resources if r.kind is Kind.GUEST]
    for resource in resources:
        if resource.kind is Kind.GUEST:
            problems += _guest(resource, resolve)
        elif resource.kind is Kind.NETWORK:
            problems += network_problems(resource)
        elif resource.kind is Kind.VOLUME:
            problems += _volume(resource)
    return (problems + nic_problems(guests, networks) + _attachments(guests, volumes)
            + image_problems(resources, IMPORTED_FORMATS, "qemu") + _image_pools(resources))


IMPORTED_FORMATS = ("qcow2", "raw", "vmdk")
"""What a guest's disk can be an overlay of."""


def _image_pools(resources: Sequence[Resource]) -> list[Problem]:
    return [Problem(f"is not supported: a qemu image is a file in the provider's dir "
                    f"(the one pool is '{POOL}')", r.address, "pool", hint="leave `pool:` out")
            for r in resources
            if r.kind is Kind.IMAGE and r.spec.get("pool") not in (None, POOL)]


def _volume(resource: Resource) -> list[Problem]:
    pool = VolumeSpec.of(resource.spec).pool
    if pool and pool != POOL:
        return [Problem(f"is not supported: a qemu volume is a file in the provider's dir "
                        f"(the one pool is '{POOL}')", resource.address, "pool",
                        hint="leave `pool:` out")]
    return []


def _attachments(guests: Sequence[tuple[Resource, GuestSpec]],
                 volumes: set[str]) -> list[Problem]:
    """Each volume attached to at most one guest, and of this provider block."""
    found = []
    taken: dict[str, str] = {}
    for resource, guest in guests:
        for index, disk in enumerate(guest.disks):
            if not disk.volume:
                continue
            path = f"disks[{index}].volume"
            if disk.volume not in volumes:
                found.append(Problem(f"'{disk.volume}' is another provider block's volume",
                                     resource.address, path,
                                     hint="a qemu guest attaches volumes of its own block"))
            elif disk.volume in taken:
                found.append(Problem(f"'{disk.volume}' is also attached to "
                                     f"{taken[disk.volume]}", resource.address, path,
                                     hint="a volume is attached to one guest at a time"))
            taken.setdefault(disk.volume, str(resource.address))
    return found


def _programs(settings: QemuConfig, block: str, binary: str) -> list[Problem]:
    problems = []
    for key, program in (("binary", binary), ("qemu_img", settings.qemu_img)):
        if shutil.which(program) is None:
            problems.append(Problem(f"{program} is not installed (not on the PATH)",
                                    path=f"providers.{block}.{key}", hint=INSTALL_HINT))
    return problems


def _guest(resource: Resource, resolve: Callable[[str], Path]) -> list[Problem]:
    guest = GuestSpec.of(resource.spec)
    found: list[Problem] = []

    def refuse(path: str, summary: str, hint: str) -> None:
        found.append(Problem(summary, resource.address, path, hint=hint))

    if guest.autostart:
        refuse("autostart", "is not supported: no daemon starts guests when the host boots",
               "leave it out; start guests with `provisioner apply` (or use libvirt)")
    if guest.clone:
        refuse("clone", "is not supported by the qemu provider", "use image: instead")
    if guest.node:
        refuse("node", "is not supported: a qemu provider is one host", "leave it out")
    for index, disk in enumerate(guest.disks):
        if disk.volume:
            continue
        if disk.pool and disk.pool != POOL:
            refuse(f"disks[{index}].pool", "is not supported: a qemu guest's disks are files "
                   f"in its directory (the one pool is '{POOL}')", "leave `pool:` out")
        if disk.size is None and not (disk.image or (index == 0 and guest.image)):
            refuse(f"disks[{index}].size", "is missing: a blank disk needs a size",
                   "give it a size, such as 10GiB, or an image")
    images = [("image", guest.image),
              *((f"disks[{i}].image", d.image) for i, d in enumerate(guest.disks))]
    options = guest.options_as(GuestOptions)
    files = [*images, ("options.kernel", options.kernel), ("options.initrd", options.initrd)]
    declared = declared_images(resource)
    for path, name in files:
        if path in declared:
            continue  # imported before the guest is made
        if name and not resolve(name).is_file():
            refuse(path, f"'{name}' is not a file here ({resolve(name)})",
                   "a relative path is relative to the stack directory")
    return found
