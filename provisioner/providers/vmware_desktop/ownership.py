"""Ownership on VMware desktop VMs: two guestinfo keys of the .vmx.

VMware keeps every ``guestinfo.*`` key of a .vmx as it is (the guest may read
them through VMware Tools; nothing else uses these). The marker
(``kit/marker.py``) is ``guestinfo.provisioner.owner``, with a memo of what the
.vmx does not say: the cloud-init digests. A create writes
``guestinfo.provisioner.creating`` with its first .vmx and drops it when the VM
is complete: a VM with it is what an interrupted create left (a leftover the
next plan deletes).
"""

from __future__ import annotations

from provisioner.providers.kit.marker import Marker, MarkerCodec
from provisioner.providers.vmware_desktop.vmx import Vmx

OWNER_KEY = "guestinfo.provisioner.owner"
CREATING_KEY = "guestinfo.provisioner.creating"
CODEC = MarkerCodec("memo")
encode = CODEC.encode


def marker_in(vmx: Vmx, key: str = OWNER_KEY) -> Marker | None:
    value = vmx.get(key)
    return CODEC.decode(value) if value else None
