"""Ownership on Hyper-V VMs: one line in the VM's Notes.

Every VM this stack makes carries the marker (``kit/marker.py``) in its Notes
(``Set-VM -Notes``), which people see in Hyper-V Manager's summary pane:
``provisioner-owner: {JSON}`` once the create is done, ``provisioner-creating:
{JSON}`` from the script that makes the VM (``New-VM`` and ``Set-VM -Notes`` run in
one script, so no VM of ours is ever without a marker) until the end of its create.
A VM with the creating line is what an interrupted create left. The memo keeps what
Hyper-V cannot report back: the cloud-init documents' digests.

Hyper-V lets two VMs share a name: VMs are named by their id in every script, and a
create refuses a name any other VM already has.
"""

from __future__ import annotations

from provisioner.providers.kit.marker import Marker, MarkerCodec

OWNER_PREFIX = "provisioner-owner: "
CREATING_PREFIX = "provisioner-creating: "
CODEC = MarkerCodec("memo")


def notes(marker: Marker, *, creating: bool = False) -> str:
    """The Notes of a VM of ours (one line)."""
    return (CREATING_PREFIX if creating else OWNER_PREFIX) + CODEC.encode(marker)


def marker_in(text: str, *, creating: bool = False) -> Marker | None:
    """The marker in a VM's Notes (the owner's, or the creating one)."""
    prefix = CREATING_PREFIX if creating else OWNER_PREFIX
    for line in text.splitlines():
        if line.startswith(prefix):
            return CODEC.decode(line[len(prefix):])
    return None
