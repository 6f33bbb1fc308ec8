"""Plan-time checks every provider that imports images shares: the image's format is
one its storage can hold, and a guest's disk is not smaller than the image it starts
from (known at plan time from the image's header)."""

from __future__ import annotations

from collections.abc import Collection, Sequence

from provisioner.core.address import Address, Kind
from provisioner.core.problems import Problem
from provisioner.core.resources import Resource
from provisioner.core.specs import GuestSpec
from provisioner.units import format_size, rough_size


def declared_images(resource: Resource) -> dict[str, Address]:
    """The guest's fields that name a declared image (``image``, ``disks[1].image``)."""
    return {path: address for path, address in resource.references.items()
            if address.kind is Kind.IMAGE}


def image_problems(resources: Sequence[Resource], formats: Collection[str],
                   provider_type: str) -> list[Problem]:
    """Images in a format this provider's storage cannot hold, and guests' disks
    smaller than the image they start from."""
    images = {r.address: r for r in resources if r.kind is Kind.IMAGE}
    found = [Problem(f"is {fmt}: the {provider_type} provider imports "
                     f"{', '.join(sorted(formats))}", address, "format",
                     hint="convert the image, or use another of its formats")
             for address, image in images.items()
             if (fmt := str(image.spec.get("format") or "")) and fmt not in formats]
    for resource in resources:
        if resource.kind is Kind.GUEST:
            found += _too_small(resource, images)
    return found


def _too_small(resource: Resource, images: dict[Address, Resource]) -> list[Problem]:
    named = declared_images(resource)
    if not named:
        return []  # most guests: no spec to read (a third of a 10,000-guest plan's checks)
    guest = GuestSpec.of(resource.spec)
    found = []
    for path, address in named.items():
        image = images.get(address)
        index = int(path[6:-7]) if path.startswith("disks[") else 0
        disks = guest.disks
        size = disks[index].size if index < len(disks) else None
        need = int(image.settings.get("virtual_size") or 0) if image else 0
        if size is not None and size < need:
            where = f"disks[{index}].size" if index < len(disks) else path
            found.append(Problem(
                f"{rough_size(size)} is smaller than the image it starts from "
                f"({address}: {rough_size(need)})", resource.address, where,
                hint=f"give the disk at least {format_size(need)}, or leave its size out"))
    return found
