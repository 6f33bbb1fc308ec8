"""VirtualBox provider: VMs driven through ``VBoxManage``, here or on a host over SSH.

This module is the plugin descriptor only (the CLI loads it to validate stacks):
it imports nothing the provider needs at run time. The provider lives in
``provider.py``; it talks to VirtualBox only through ``vboxmanage.py``, which
runs ``VBoxManage`` through the kit's command runner (``kit/commands``).
"""

from __future__ import annotations

import shutil
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from provisioner import __version__
from provisioner.core.address import Kind
from provisioner.core.plugins import ProviderPlugin

OsType = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9_]+$", max_length=64)]


class _Strict(BaseModel):
    model_config = ConfigDict(strict=True, frozen=True, extra="forbid", defer_build=True)


class VirtualBoxConfig(_Strict):
    """Settings of a ``type: virtualbox`` provider block (VirtualBox 7.0 and 7.1)."""

    host: str | None = Field(
        None, min_length=1, description="run VBoxManage on this host over SSH (user@host or "
                                        "an ~/.ssh/config alias; keys only, no password "
                                        "prompt); default: this machine")
    vboxmanage: str = Field("VBoxManage", min_length=1,
                            description="the VBoxManage program (a name on the PATH, or a "
                                        "full path)")
    basefolder: str | None = Field(
        None, description="where VMs and their disks are made (an absolute path on the "
                          "VirtualBox host); default: VirtualBox's default machine folder")
    timeout: float = Field(300.0, gt=0, le=3600,
                           description="seconds one VBoxManage command may take")
    shutdown_timeout: float = Field(
        60.0, ge=0, le=3600, description="seconds a guest has to power off after the ACPI "
                                         "power button, before it is powered off")
    retry_timeout: float = Field(
        30.0, ge=0, description="seconds spent retrying a VM locked by another session")
    max_parallel: int = Field(2, ge=1, le=16,
                              description="concurrent changes (VBoxSVC serializes most)")


class GuestOptions(_Strict):
    """VirtualBox-only settings of a guest (``options:``)."""

    ostype: OsType = Field("Linux_64", description="the guest OS type, as `VBoxManage list "
                                                   "ostypes` names it (Ubuntu_64, Debian_64, "
                                                   "Windows11_64...)")
    firmware: Literal["bios", "efi"] = Field("bios", description="boot firmware")
    disk_format: Literal["vdi", "vmdk"] = Field(
        "vdi", description="the image format of the guest's disks (VMDK: for use by VMware "
                           "products too); another format is new disks: a replacement")


def probe() -> str:
    """Whether VBoxManage is on this machine's PATH (a block with ``host:`` needs it there)."""
    found = shutil.which("VBoxManage") or shutil.which("vboxmanage")
    return f"VBoxManage at {found}" if found else \
        "needs VBoxManage on the PATH, or `host:` to reach it over SSH"


plugin = ProviderPlugin(
    type_name="virtualbox",
    version=__version__,
    config_model=VirtualBoxConfig,
    provider_path="provisioner.providers.virtualbox.provider:VirtualBoxProvider",
    requires="",
    extra="",
    kinds=frozenset({Kind.GUEST}),
    options_models={Kind.GUEST: GuestOptions},
    summary="VirtualBox 7.0/7.1 through VBoxManage (local, or a host over SSH)",
    probe=probe,
)
