"""cloud-init on XAPI: a config drive, as Xen Orchestra makes one for XCP-ng.

The NoCloud seed (``kit/nocloud``: an ISO9660 image labelled ``cidata`` holding
user-data, meta-data and network-config) is written into a small VDI of its
own (``VDI.create``, then the content with XAPI's ``/import_raw_vdi`` HTTP
handler) and attached read-only as the guest's last disk. cloud-init's
NoCloud source finds it by its label on any block device, so it works with
every template whose image runs cloud-init (the Debian, Ubuntu and Rocky
"genericcloud" images; not the installer templates, which have no OS yet).

The drive's marker carries the label and digest of each file written (its
memo's ``config_drive``): that is what a plan compares, as XAPI cannot give the
content back. A change replaces the drive (on a halted guest: the plan says
when it restarts the guest, per ``cloud_init.on_change``).
"""

from __future__ import annotations

import contextlib
from typing import Any

from provisioner.core.address import Address
from provisioner.core.resources import Blob
from provisioner.core.specs import CloudInitSpec
from provisioner.errors import ProviderError
from provisioner.providers.kit.nocloud import build_iso, seed_files
from provisioner.providers.xenserver.client import NULL_REF, XapiClient
from provisioner.providers.xenserver.devices import MIB, VmDevices, vbd_record, vdi_record
from provisioner.providers.xenserver.ownership import Ownership, encode
from provisioner.providers.xenserver.read import CLOUD_INIT_FIELDS, DRIVE_KEY, is_config_drive


def written(cloud_init: CloudInitSpec) -> dict[str, Any]:
    """What the drive's marker records of each file: its label and digest."""
    found: dict[str, Any] = {}
    for key in CLOUD_INIT_FIELDS:
        blob = getattr(cloud_init, key)
        found[key] = {"label": blob.label, "digest": blob.digest} \
            if isinstance(blob, Blob) else None
    return found


class ConfigDrive:
    """Writes, replaces and removes guests' config drives."""

    def __init__(self, client: XapiClient, ownership: Ownership) -> None:
        self.client = client
        self.ownership = ownership

    def attach(self, devices: VmDevices, address: Address, name: str,
               cloud_init: CloudInitSpec, sr: str, running: bool) -> None:
        """Write the seed of ``cloud_init`` into a new VDI on ``sr`` and attach it."""
        what = f"{devices.what} cloud_init"
        try:
            files = seed_files(name, cloud_init)
        except ValueError as exc:
            raise ProviderError(f"{what}: {exc}",
                                hint="the content is needed: run apply from the stack") from None
        if files is None:
            return
        image = build_iso(files)
        size = max(MIB, -(-len(image) // MIB) * MIB)
        marker = encode(self.ownership.marker(address, {DRIVE_KEY: written(cloud_init)}))
        vdi = self.client.call("VDI.create", vdi_record(f"{name} cloud-init", sr, size, marker),
                               what=what, retry=False)
        try:
            self.client.put_raw(vdi, image, what=what)
        except ProviderError:
            with contextlib.suppress(ProviderError):  # else a leftover the next plan deletes
                self.client.call("VDI.destroy", vdi, what=what)
            raise
        vbd = self.client.call("VBD.create", vbd_record(
            devices.ref, vdi, devices.free_device(), bootable=False, read_only=True),
            what=what, retry=False)
        if running:
            self.client.call("VBD.plug", vbd, what=what)

    def remove(self, devices: VmDevices, running: bool) -> None:
        """Detach and destroy the guest's config drive, if it has one."""
        for ref, vbd in devices.vbds():
            vdi_ref = vbd.get("VDI")
            if not vdi_ref or vdi_ref == NULL_REF:
                continue
            vdi = self.client.call("VDI.get_record", vdi_ref, what=devices.what)
            if not is_config_drive(vdi):
                continue
            if running and vbd.get("currently_attached"):
                self.client.call("VBD.unplug", ref, what=devices.what)
            self.client.call("VBD.destroy", ref, what=devices.what)
            self.client.call("VDI.destroy", vdi_ref, what=devices.what)
