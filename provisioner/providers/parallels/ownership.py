"""Ownership on Parallels VMs: the stack's folder and the VM's description.

Every VM this stack makes is created in the folder ``provisioner-STACK`` of the
block's basefolder (``prlctl create --dst``), so its ``Home`` names the stack
from its first instant, and carries the marker (``kit/marker.py``) on a line
of its description (``prlctl set --description``): ``provisioner:{...}``, with
a memo of what prlctl cannot report back (the distribution asked for, the
cloud-init digests). The description is chosen because the bulk read returns
it (``Description`` in ``prlctl list --info --json``): ownership costs no read
per VM, and people see it in the VM's configuration; lines around the marker
are kept.

Interrupted creates: the VM gets a ``provisioner-creating:{...}`` line right
after ``prlctl create`` and loses it at the end of the create. A VM with it,
or a VM in this stack's folder with no marker at all (killed between the
create and the first description), is what an interrupted create left.
"""

from __future__ import annotations

from dataclasses import dataclass

from provisioner.providers.kit import ownership as kit
from provisioner.providers.kit.marker import Marker, MarkerCodec

OWNER_PREFIX = "provisioner:"
CREATING_PREFIX = "provisioner-creating:"
FOLDER_PREFIX = "provisioner-"
CODEC = MarkerCodec("memo")
encode = CODEC.encode
decode = CODEC.decode


def folder_of(stack: str) -> str:
    return f"{FOLDER_PREFIX}{stack}"


def stack_of_home(home: str) -> str | None:
    """The stack whose folder holds a VM's bundle (``.../provisioner-lab/app.pvm/``)."""
    parts = [part for part in home.split("/") if part]
    parent = parts[-2] if len(parts) > 1 else ""
    return parent[len(FOLDER_PREFIX):] if parent.startswith(FOLDER_PREFIX) else None


def marker_in(description: str, prefix: str = OWNER_PREFIX) -> Marker | None:
    for line in description.splitlines():
        if line.startswith(prefix):
            return decode(line[len(prefix):])
    return None


def with_line(description: str, prefix: str, marker: Marker | None) -> str:
    """The description with its ``prefix`` line replaced by ``marker`` (or removed)."""
    lines = [line for line in description.splitlines() if not line.startswith(prefix)]
    if marker is not None:
        lines.append(prefix + encode(marker))
    return "\n".join(lines)


@dataclass(frozen=True)
class Ownership(kit.Ownership):
    """One provider block of one stack on one Mac."""

    @property
    def folder(self) -> str:
        return folder_of(self.stack)
