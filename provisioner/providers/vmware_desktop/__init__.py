"""VMware Workstation / Player / Fusion provider: ``.vmx`` files and ``vmrun``.

This module is the plugin descriptor only (the CLI loads it to validate stacks):
it imports nothing the provider needs at run time. The provider lives in
``provider.py``; it talks to VMware only through ``vmrun.py``, which runs
``vmrun``, the disk tool and the host's shell through the kit's command runner
(``kit/commands``), here or on a host over SSH.
"""

from __future__ import annotations

import shutil
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StringConstraints

from provisioner import __version__
from provisioner.core.address import Kind
from provisioner.core.plugins import ProviderPlugin
from provisioner.providers.kit.forms import matching

_absolute = matching(r"^/", "/an/absolute/path on the VMware host (~ is not expanded)")
GuestOs = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9_-]+$", max_length=64)]


class _Strict(BaseModel):
    model_config = ConfigDict(strict=True, frozen=True, extra="forbid", defer_build=True)


class VmwareDesktopConfig(_Strict):
    """Settings of a ``type: vmware-desktop`` provider block."""

    basefolder: Annotated[str, AfterValidator(_absolute)] = Field(
        ..., description="where VMs are made, one folder each (BASEFOLDER/NAME/NAME.vmx): "
                         "an absolute path on the VMware host (Linux or macOS)")
    host: str | None = Field(
        None, min_length=1, description="run vmrun on this host over SSH (user@host or an "
                                        "~/.ssh/config alias; keys only); default: this "
                                        "machine")
    vmrun: str = Field("vmrun", min_length=1, description="the vmrun program (Fusion's: "
                       "/Applications/VMware Fusion.app/Contents/Library/vmrun)")
    product: Literal["ws", "fusion", "player"] = Field(
        "ws", description="vmrun -T: ws (Workstation), fusion, player (no clones, no "
                          "snapshots)")
    disk_tool: str = Field(
        "vmware-vdiskmanager", min_length=1,
        description="the program that makes vmdk disks: vmware-vdiskmanager (grows disks "
                    "too) or qemu-img (a name ending in qemu-img; cannot grow vmdk)")
    timeout: float = Field(300.0, gt=0, le=3600, description="seconds one command may take")
    shutdown_timeout: float = Field(
        60.0, ge=0, le=3600, description="seconds `vmrun stop soft` may take before the VM "
                                         "is powered off hard")
    max_parallel: int = Field(2, ge=1, le=16, description="concurrent changes")


class GuestOptions(_Strict):
    """VMware-only settings of a guest (``options:``)."""

    guest_os: GuestOs = Field("otherlinux-64", description="the VMX guestOS id "
                              "(debian12-64, ubuntu-64, windows9-64...)")
    firmware: Literal["bios", "efi"] = Field("efi", description="boot firmware")
    disk_bus: Literal["scsi", "sata"] = Field(
        "scsi", description="the controller of the guest's disks (scsi: LSI Logic); another "
                            "bus is new disks: a replacement")
    hardware_version: int = Field(19, ge=10, le=22, description="virtualHW.version (19: "
                                  "Workstation 16.2 / Fusion 12.2 and later)")


def probe() -> str:
    """Whether vmrun is on this machine's PATH (a block with ``host:`` needs it there)."""
    found = shutil.which("vmrun")
    return f"vmrun at {found}" if found else \
        "needs vmrun (VMware Workstation, Player or Fusion) on the PATH, or `host:` to " \
        "reach it over SSH; vmware-vdiskmanager or qemu-img for disks"


plugin = ProviderPlugin(
    type_name="vmware-desktop",
    version=__version__,
    config_model=VmwareDesktopConfig,
    provider_path="provisioner.providers.vmware_desktop.provider:VmwareDesktopProvider",
    requires="",
    extra="",
    kinds=frozenset({Kind.GUEST}),
    options_models={Kind.GUEST: GuestOptions},
    memory_unit=4 * 1024 * 1024,
    summary="VMware Workstation 17 / Player / Fusion 13 through vmrun and .vmx files "
            "(local, or a host over SSH)",
    probe=probe,
)
