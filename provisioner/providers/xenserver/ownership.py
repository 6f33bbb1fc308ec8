"""Ownership on XAPI objects: an ``other_config`` key and a tag.

The marker (``kit/marker.py``) is one compact JSON document under the
``provisioner:owner`` key of a VM's (and of its disks') ``other_config``, with a
memo (under ``memo``) of what XAPI cannot report back: the template a guest was
made from, the labels and digests of its cloud-init data. VMs also get the tag
``provisioner:STACK`` so that people see them in XenCenter / Xen Orchestra.

Interrupted creates: a clone or copy cannot carry ``other_config``, so the VM is
made under a *creating name* (``provisioner-creating {marker}``) that says whose
it is from its first instant; it then gets the owner key and the
``provisioner:creating`` key, and only at the end its real name, without the
key. A VM with either is what an interrupted create left: a leftover, deleted
by the next apply. A disk made for a guest carries the guest's marker from its
``VDI.create``; one attached to no VM is a leftover too.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from provisioner.core.address import Address
from provisioner.providers.kit import ownership as kit
from provisioner.providers.kit.marker import Marker, MarkerCodec

OWNER_KEY = "provisioner:owner"
CREATING_KEY = "provisioner:creating"
CREATING_PREFIX = "provisioner-creating "
TAG_PREFIX = "provisioner:"
CODEC = MarkerCodec("memo", escaped="<>")
encode = CODEC.encode
decode = CODEC.decode


def marker_of(record: Mapping[str, Any]) -> Marker | None:
    """The owner marker of a VM or VDI record, if it has one."""
    other = record.get("other_config") or {}
    return decode(other.get(OWNER_KEY)) if OWNER_KEY in other else None


def creating_marker(record: Mapping[str, Any]) -> Marker | None:
    """Whose create left this VM half made: its creating key or its creating name."""
    other = record.get("other_config") or {}
    if CREATING_KEY in other:
        return decode(other[CREATING_KEY])
    name = str(record.get("name_label", ""))
    if name.startswith(CREATING_PREFIX):
        return decode(name[len(CREATING_PREFIX):])
    return None


def stack_tag(stack: str) -> str:
    return f"{TAG_PREFIX}{stack}"


@dataclass(frozen=True)
class Ownership(kit.Ownership):
    """One provider block of one stack: recognises its VMs and disks, and others'."""

    def creating_name(self, address: Address) -> str:
        """The name a VM has while it is being made."""
        return CREATING_PREFIX + encode(self.marker(address))

    def disk_marker(self, address: Address, index: int) -> str:
        """The owner value of a guest's disk ``index``."""
        return encode(self.marker(address, {"disk": index}))
