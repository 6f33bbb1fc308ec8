"""What a reference in a spec names on the hypervisor: a disk's ``pool:``, a NIC's
``network:``, a disk's ``volume:``.

A ``pool:`` value names a pool of the stack (the resolver recorded it as a
reference, ``Resource.references``: the object's hypervisor name carries the
stack) or something the hypervisor has on its own (a libvirt pool, a Proxmox
storage); no value means the provider's default. A network or volume named by a
guest is always one of the stack's, whose hypervisor name may be the second
name of a create-before-destroy replacement (``Resource.name_of``). Pure.
"""

from __future__ import annotations

from collections.abc import Callable

from provisioner.core.address import Address, Kind
from provisioner.core.resources import Resource


def pool_of(resource: Resource, path: str, declared: str | None, *, default: str,
            stack_pool: Callable[[str], str]) -> str:
    """The hypervisor's name for the pool the ``pool:`` at ``path`` means: a pool of the
    stack (``stack_pool`` of its object name), the hypervisor's own, or ``default``."""
    if declared is None:
        return default
    reference = resource.references.get(path)
    if reference is not None:
        return stack_pool(resource.name_of(reference))
    return declared


def referenced(resource: Resource, kind: Kind, name: str) -> str:
    """The hypervisor name of the stack's ``kind`` named ``name`` that ``resource`` uses."""
    return resource.name_of(Address(kind, name))
