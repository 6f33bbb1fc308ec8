"""libvirt provider: KVM/QEMU guests, networks and volumes through libvirt.

This module is the plugin descriptor only: it must not import ``libvirt``
(the CLI loads it to validate stacks on machines without libvirt-python).
The provider itself lives in ``provider.py``.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr, model_validator

from provisioner import __version__
from provisioner.core.address import Kind
from provisioner.core.plugins import ProviderPlugin
from provisioner.stack.host_text import HostName, MachineType, PlainText
from provisioner.stack.values import Size


class _Strict(BaseModel):
    model_config = ConfigDict(strict=True, frozen=True, extra="forbid", defer_build=True)


class LibvirtConfig(_Strict):
    """Settings of a ``type: libvirt`` provider block."""

    uri: str = Field(
        "qemu:///system",
        description="libvirt connection URI: qemu:///system, qemu+ssh://host/system, test:///default",
    )
    pool: HostName = Field("default",
                           description="storage pool for disks and volumes without `pool:`")
    domain_type: Literal["auto", "kvm", "qemu"] = Field(
        "auto", description="kvm, qemu (software emulation) or auto (kvm when it works)"
    )
    max_parallel: int = Field(10, ge=1, le=64, description="concurrent changes on this host")
    pool_parallel: int = Field(
        4, ge=1, le=64,
        description="concurrent changes that copy data into one storage pool (image imports, "
                    "guests with image_mode: copy): they contend on its disk")
    username: str | None = Field(None, description="SASL user, for qemu+tcp:// or qemu+tls://")
    password: SecretStr | None = Field(
        None, description="SASL password, from the environment: ${env.LIBVIRT_PASSWORD}"
    )


BootDevice = Literal["hd", "network", "cdrom"]


class GuestOptions(_Strict):
    """libvirt-only guest settings (``options:`` of a guest)."""

    machine: MachineType | None = Field(None, description="machine type, such as q35 or pc")
    cpu_mode: Literal["host-passthrough", "host-model", "maximum"] | None = Field(
        None, description="CPU model given to the guest; host-* needs KVM"
    )
    max_cpus: int | None = Field(
        None, ge=1, le=1024, description="vCPUs the guest can grow to without a restart"
    )
    max_memory: Size | None = Field(
        None, description="memory the guest can grow to without a restart (balloon)"
    )
    boot: list[BootDevice] = Field(
        default_factory=lambda: list[BootDevice](["hd"]), description="boot devices, in order"
    )
    kernel: HostName | None = Field(None, description="direct kernel boot: kernel path on the host")
    initrd: HostName | None = Field(None, description="direct kernel boot: initrd path on the host")
    cmdline: PlainText | None = Field(None, description="direct kernel boot: kernel command line")
    serial_log: bool = Field(True, description="log the serial console to a file on the host")
    graphics: Literal["none", "vnc"] = Field("none", description="vnc listens on 127.0.0.1")
    image_mode: Literal["overlay", "copy"] = Field(
        "overlay", description="disks from an image: a copy-on-write overlay or a full copy"
    )

    @model_validator(mode="after")
    def _kernel_for_initrd(self) -> GuestOptions:
        if (self.initrd or self.cmdline) and not self.kernel:
            raise ValueError("initrd and cmdline need `kernel:` (direct kernel boot)")
        return self


class NetworkOptions(_Strict):
    """libvirt-only network settings."""


class VolumeOptions(_Strict):
    """libvirt-only volume settings."""


class PoolOptions(_Strict):
    """libvirt-only pool settings."""


plugin = ProviderPlugin(
    type_name="libvirt",
    version=__version__,
    config_model=LibvirtConfig,
    provider_path="provisioner.providers.libvirt.provider:LibvirtProvider",
    requires="libvirt",
    extra="libvirt",
    kinds=frozenset({Kind.POOL, Kind.NETWORK, Kind.VOLUME, Kind.GUEST, Kind.IMAGE}),
    options_models={
        Kind.POOL: PoolOptions,
        Kind.NETWORK: NetworkOptions,
        Kind.VOLUME: VolumeOptions,
        Kind.GUEST: GuestOptions,
    },
    memory_unit=1024,  # <memory unit='KiB'>
    summary="KVM/QEMU through libvirt (local or qemu+ssh://)",
)
