"""libvirt provider: KVM/QEMU guests, networks and volumes through libvirt.

This module is the plugin descriptor only: it must not import ``libvirt``
(the CLI loads it to validate stacks on machines without libvirt-python).
The provider itself lives in ``provider.py``.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from provisioner import __version__
from provisioner.providers.registry import ProviderPlugin
from provisioner.stack.address import Kind


class _Strict(BaseModel):
    model_config = ConfigDict(strict=True, frozen=True, extra="forbid")


class LibvirtConfig(_Strict):
    """Settings of a ``type: libvirt`` provider block."""

    uri: str = Field(
        "qemu:///system",
        description="libvirt connection URI: qemu:///system, qemu+ssh://host/system, test:///default",
    )
    pool: str = Field("default", description="storage pool for disks and volumes without `pool:`")
    domain_type: Literal["auto", "kvm", "qemu"] = Field(
        "auto", description="kvm, qemu (software emulation) or auto (kvm when it works)"
    )
    max_parallel: int = Field(8, ge=1, le=64, description="concurrent changes on this host")


class GuestOptions(_Strict):
    """libvirt-only guest settings (``options:`` of a guest)."""


class NetworkOptions(_Strict):
    """libvirt-only network settings."""


class VolumeOptions(_Strict):
    """libvirt-only volume settings."""


plugin = ProviderPlugin(
    type_name="libvirt",
    version=__version__,
    config_model=LibvirtConfig,
    provider_path="provisioner.providers.libvirt.provider:LibvirtProvider",
    requires="libvirt",
    extra="libvirt",
    options_models={
        Kind.NETWORK: NetworkOptions,
        Kind.VOLUME: VolumeOptions,
        Kind.GUEST: GuestOptions,
    },
    summary="KVM/QEMU through libvirt (local or qemu+ssh://)",
)
