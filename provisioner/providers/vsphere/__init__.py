"""vSphere provider: virtual machines on a vCenter or a standalone ESXi host (pyVmomi).

This module is the plugin descriptor only: it must not import ``pyVmomi``
(the CLI loads it to validate stacks on machines without it). The provider
itself lives in ``provider.py``.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr, StringConstraints, model_validator

from provisioner import __version__
from provisioner.core.address import Kind
from provisioner.core.plugins import ProviderPlugin
from provisioner.stack.host_text import HostName, NoteText, Word

InventoryPath = Annotated[str, StringConstraints(pattern=r"^[^/\s][^/]*(/[^/]+)*$", max_length=400)]
"""A folder or resource pool below its root, such as ``lab`` or ``lab/web`` (no leading /)."""


class _Strict(BaseModel):
    model_config = ConfigDict(strict=True, frozen=True, extra="forbid", defer_build=True)


class VsphereConfig(_Strict):
    """Settings of a ``type: vsphere`` provider block."""

    server: str = Field(
        pattern=r"^[A-Za-z0-9.\-\[\]:]+$",
        description="vCenter or ESXi host name or address, such as vcenter.lab.example",
    )
    port: int = Field(443, ge=1, le=65535, description="the HTTPS port of the SDK")
    username: str = Field(description="such as provisioner@vsphere.local, or root on an ESXi host")
    password: SecretStr = Field(
        description="the user's password, from the environment: ${env.VSPHERE_PASSWORD}"
    )
    verify_tls: bool = Field(True, description="verify the server's TLS certificate")
    ca_file: str | None = Field(
        None, description="PEM file of the CA (or the self-signed certificate) to verify against"
    )
    datacenter: str | None = Field(
        None, description="the datacenter guests go to; may be omitted when there is only one"
    )
    cluster: str | None = Field(None, description="the cluster guests run in (vCenter)")
    host: str | None = Field(
        None, description="the ESXi host guests run on when they name no `node:` (a standalone "
                          "host, or one of the cluster's)")
    resource_pool: InventoryPath | None = Field(
        None, description="resource pool below the cluster's or host's root pool, such as lab"
    )
    folder: InventoryPath | None = Field(
        None, description="VM folder below the datacenter's root VM folder, such as provisioner/lab"
    )
    datastore: str | None = Field(
        None, description="datastore for VM files and disks that name no `pool:`; may be omitted "
                          "when the cluster or host has only one")
    attribute: str = Field(
        "provisioner", min_length=1, max_length=80,
        description="vCenter custom attribute that holds the ownership tag (created if missing)",
    )
    timeout: float = Field(60.0, gt=0, le=600, description="seconds one API request may take")
    task_timeout: float = Field(900.0, gt=0, description="seconds one vSphere task may take")
    shutdown_timeout: float = Field(
        120.0, ge=0, description="seconds a clean guest shutdown may take before a power off"
    )
    retry_timeout: float = Field(
        60.0, ge=0, description="seconds spent retrying transient faults (a task in progress, "
                                "a lost host connection, dropped connections)")
    max_parallel: int = Field(8, ge=1, le=64, description="concurrent changes on this server")

    @model_validator(mode="after")
    def _consistent(self) -> VsphereConfig:
        if self.ca_file is not None and not self.verify_tls:
            raise ValueError("ca_file is for verifying the certificate; drop verify_tls: false")
        return self


class GuestOptions(_Strict):
    """vSphere-only settings of a guest (``options:``)."""

    guest_id: Word | None = Field(
        None, description="guest OS identifier, such as debian12_64Guest (default: the "
                          "template's, or otherLinux64Guest)")
    cores_per_socket: int | None = Field(
        None, ge=1, le=128, description="cores per virtual socket; cpus must be a multiple"
    )
    cpu_hot_add: bool = Field(False, description="vCPUs can be added while the guest runs")
    cpu_hot_remove: bool = Field(False, description="vCPUs can be removed while the guest runs")
    memory_hot_add: bool = Field(False, description="memory can grow while the guest runs")
    notes: NoteText = Field("", max_length=4000, description="the VM's notes (annotation)")
    folder: InventoryPath | None = Field(None, description="VM folder, instead of the block's")
    resource_pool: InventoryPath | None = Field(
        None, description="resource pool, instead of the block's"
    )
    cluster: HostName | None = Field(None, description="cluster, instead of the block's")
    datastore: HostName | None = Field(
        None, description="datastore for the VM's files and disks without `pool:`"
    )
    firmware: Literal["bios", "efi"] | None = Field(None, description="default: bios")
    scsi_controller: Literal["pvscsi", "lsilogic", "lsilogic-sas"] = Field(
        "pvscsi", description="type of the SCSI controllers added for disks"
    )
    disk_provisioning: Literal["thin", "thick", "eager_zeroed"] = Field(
        "thin", description="how new disks are allocated on the datastore"
    )


plugin = ProviderPlugin(
    type_name="vsphere",
    version=__version__,
    config_model=VsphereConfig,
    provider_path="provisioner.providers.vsphere.provider:VsphereProvider",
    requires="pyVmomi",
    extra="vsphere",
    kinds=frozenset({Kind.GUEST, Kind.IMAGE}),
    options_models={Kind.GUEST: GuestOptions},
    memory_unit=4 * 1024 * 1024,  # memoryMB, a multiple of 4
    summary="VMware vSphere: VMs on vCenter or a standalone ESXi host (pyVmomi)",
)
