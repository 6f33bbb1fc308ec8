"""Ownership on VirtualBox VMs: a group and two extradata keys.

Every VM this stack makes is in the VirtualBox group ``/provisioner-STACK``
(given to ``createvm --groups``, so from its first instant; people see it as a
folder in the VirtualBox Manager), and carries the marker (``kit/marker.py``)
in its extradata under ``provisioner/owner``, with a memo of what VBoxManage
cannot report back (the OS type id, the cloud-init digests). The bulk read
sees groups for free (``list -l vms``); extradata is one read per VM of a
group of ours (``getextradata VM enumerate``).

Interrupted creates: the VM gets ``provisioner/creating`` right after
``createvm`` and loses it at the end of the create. A VM with it, or a VM in
this stack's group with no marker at all (killed between ``createvm`` and the
first ``setextradata``), is what an interrupted create left.
"""

from __future__ import annotations

from dataclasses import dataclass

from provisioner.providers.kit import ownership as kit
from provisioner.providers.kit.marker import Marker, MarkerCodec

OWNER_KEY = "provisioner/owner"
CREATING_KEY = "provisioner/creating"
GROUP_PREFIX = "/provisioner-"
CODEC = MarkerCodec("memo")
encode = CODEC.encode
decode = CODEC.decode


def group_of(stack: str) -> str:
    return f"{GROUP_PREFIX}{stack}"


def stack_of_groups(groups: tuple[str, ...]) -> str | None:
    """The stack a VM's groups name, if any."""
    for group in groups:
        if group.startswith(GROUP_PREFIX):
            return group[len(GROUP_PREFIX):]
    return None


def marker_in(extra: dict[str, str], key: str = OWNER_KEY) -> Marker | None:
    value = extra.get(key)
    return decode(value) if value else None


@dataclass(frozen=True)
class Ownership(kit.Ownership):
    """One provider block of one stack on one VirtualBox host."""

    @property
    def group(self) -> str:
        return group_of(self.stack)
