"""A Proxmox guest's or container's provider options, typed (``options:`` of either)."""

from __future__ import annotations

from provisioner.core.address import Kind
from provisioner.core.resources import Resource
from provisioner.core.specs import ContainerSpec, GuestSpec
from provisioner.providers.proxmox import ContainerOptions, GuestOptions


def options_of(resource: Resource) -> GuestOptions | ContainerOptions:
    """The ``options:`` of a guest (GuestOptions) or a container (ContainerOptions),
    defaults filled in."""
    if resource.kind is Kind.CONTAINER:
        return ContainerSpec.of(resource.spec).options_as(ContainerOptions)
    return GuestSpec.of(resource.spec).options_as(GuestOptions)
