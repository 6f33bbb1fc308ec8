"""qemu provider: guests as QEMU processes it supervises itself, with no daemon and no root.

This module is the plugin descriptor only: it must not import ``qemu.qmp``
(the CLI loads it to validate stacks on machines without it). The provider
itself lives in ``provider.py``.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from provisioner import __version__
from provisioner.core.address import Kind
from provisioner.core.plugins import ProviderPlugin
from provisioner.providers.qemu.accel import accel_note
from provisioner.stack.host_text import HostName, MachineType, PlainText


class _Strict(BaseModel):
    model_config = ConfigDict(strict=True, frozen=True, extra="forbid", defer_build=True)


class QemuConfig(_Strict):
    """Settings of a ``type: qemu`` provider block."""

    dir: str | None = Field(
        None, description="where guests live (their disks, sockets and logs); a relative path "
                          "is relative to the stack directory; default: "
                          "$XDG_DATA_HOME/provisioner/qemu (~/.local/share/provisioner/qemu)")
    binary: str | None = Field(
        None, description="the QEMU system emulator; default: qemu-system-ARCH on the PATH")
    arch: str = Field(
        "x86_64", pattern=r"^[a-z0-9_]+$",
        description="guest architecture, as QEMU names it (x86_64, aarch64, ...): picks "
                    "qemu-system-ARCH when `binary` is not given")
    qemu_img: str = Field("qemu-img", description="the disk image tool")
    accel: Literal["auto", "kvm", "tcg"] = Field(
        "auto", description="kvm, tcg (software emulation) or auto (kvm when /dev/kvm opens "
                            "and works here)")
    max_parallel: int = Field(4, ge=1, le=64, description="concurrent changes on this host")
    start_timeout: float = Field(
        3.0, gt=0, le=60,
        description="seconds a new QEMU process must stay up to count as started")
    stop_timeout: float = Field(
        60.0, gt=0, le=3600,
        description="seconds a guest has to power off after the ACPI power button, before "
                    "QEMU is told to quit")


BootDevice = Literal["hd", "network", "cdrom"]


class GuestOptions(_Strict):
    """qemu-only guest settings (``options:`` of a guest)."""

    machine: MachineType | None = Field(
        None, description="machine type, such as q35 or pc; default: q35 on x86, virt on "
                          "ARM and RISC-V, QEMU's own elsewhere")
    kernel: HostName | None = Field(None, description="direct kernel boot: kernel path")
    initrd: HostName | None = Field(None, description="direct kernel boot: initrd path")
    cmdline: PlainText | None = Field(None, description="direct kernel boot: kernel command line")
    boot: list[BootDevice] = Field(
        default_factory=lambda: list[BootDevice](["hd"]), description="boot devices, in order")

    @model_validator(mode="after")
    def _kernel_for_initrd(self) -> GuestOptions:
        if (self.initrd or self.cmdline) and not self.kernel:
            raise ValueError("initrd and cmdline need `kernel:` (direct kernel boot)")
        return self


plugin = ProviderPlugin(
    type_name="qemu",
    version=__version__,
    config_model=QemuConfig,
    provider_path="provisioner.providers.qemu.provider:QemuProvider",
    requires="qemu.qmp",
    extra="qemu",
    kinds=frozenset({Kind.GUEST, Kind.NETWORK, Kind.VOLUME, Kind.IMAGE}),
    options_models={Kind.GUEST: GuestOptions},
    memory_unit=1024 * 1024,  # MiB
    summary="QEMU processes without a daemon or root (local)",
    probe=accel_note,
)
