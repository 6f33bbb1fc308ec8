"""The .vmx the provider writes: a new VM's entries, and the entries each field owns.

A new VM gets ``config.version``, ``virtualHW.version``, ``displayName``,
``guestOS``, ``firmware = "efi"`` (BIOS: no ``firmware`` key, VMware's default and
what libvirt's VMX parser accepts), ``numvcpus``, ``memsize``, its disk controller
(``scsi0`` LSI Logic, or ``sata0``) with disk N at unit N (SCSI skips unit 7) as
``NAME-diskN.vmdk`` in its folder, its NICs (``nics.py``) and the guestinfo
cloud-init keys (``vsphere/guestinfo.py``). An update sets only the entries of
the fields it changes; every other entry of the file is kept as it was.
"""

from __future__ import annotations

from provisioner.core.specs import GuestSpec
from provisioner.errors import ProviderError
from provisioner.providers.vmware_desktop import GuestOptions
from provisioner.providers.vmware_desktop.read import MIB
from provisioner.providers.vmware_desktop.vmx import Vmx
from provisioner.providers.vsphere import guestinfo

SCSI_DEV = "lsilogic"


def disk_file(name: str, index: int) -> str:
    return f"{name}-disk{index}.vmdk"


def new_vmx(name: str, guest: GuestSpec, options: GuestOptions) -> Vmx:
    """A new VM's .vmx without its disks (they are added as they are made)."""
    vmx = Vmx({"config.version": "8", "virtualHW.version": str(options.hardware_version),
               "displayName": name, "nvram": f"{name}.nvram"})
    set_settings(vmx, guest, options)
    vmx.update(controller_entries(options.disk_bus))
    return vmx


def set_settings(vmx: Vmx, guest: GuestSpec, options: GuestOptions) -> None:
    # BIOS is the absence of the key: libvirt's VMX parser refuses firmware = "bios"
    vmx.update({"numvcpus": str(guest.cpus), "memsize": str(guest.memory // MIB),
                "guestOS": options.guest_os,
                "firmware": "efi" if options.firmware == "efi" else None,
                "virtualHW.version": str(options.hardware_version)})


def controller_entries(bus: str) -> dict[str, str]:
    if bus == "scsi":
        return {"scsi0.present": "TRUE", "scsi0.virtualDev": SCSI_DEV}
    return {"sata0.present": "TRUE"}


def disk_entries(bus: str, unit: int, file_name: str) -> dict[str, str]:
    device = f"{bus}0:{unit}"
    return {f"{device}.present": "TRUE", f"{device}.fileName": file_name}


def drop_disk(vmx: Vmx, bus: str, unit: int) -> None:
    vmx.drop_prefix(f"{bus}0:{unit}.")


def set_cloud_init(vmx: Vmx, name: str, guest: GuestSpec) -> None:
    """The guestinfo keys of ``guest.cloud_init`` (removed without one)."""
    try:
        values = guestinfo.documents(name, guest.cloud_init)
    except ValueError as exc:
        raise ProviderError(f"VM '{name}': {exc}") from None
    vmx.update({key: value or None for key, value in values.items()})
