"""Parallels Desktop provider: VMs driven through ``prlctl``, on this Mac or one over SSH.

This module is the plugin descriptor only (the CLI loads it to validate stacks):
it imports nothing the provider needs at run time. The provider lives in
``provider.py``; it talks to Parallels only through ``prlctl.py``, which runs
``prlctl`` and ``prlsrvctl`` through the kit's command runner (``kit/commands``).
"""

from __future__ import annotations

import shutil
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from provisioner import __version__
from provisioner.core.address import Kind
from provisioner.core.plugins import ProviderPlugin

Distribution = Annotated[str, StringConstraints(pattern=r"^[a-z0-9][a-z0-9_.-]*$",
                                                max_length=64)]


class _Strict(BaseModel):
    model_config = ConfigDict(strict=True, frozen=True, extra="forbid", defer_build=True)


class ParallelsConfig(_Strict):
    """Settings of a ``type: parallels`` provider block (Parallels Desktop Pro/Business 19, 20)."""

    host: str | None = Field(
        None, min_length=1, description="run prlctl on this Mac over SSH (user@host or an "
                                        "~/.ssh/config alias; keys only, no password "
                                        "prompt); default: this machine")
    prlctl: str = Field("prlctl", min_length=1,
                        description="the prlctl program (a name on the PATH, or a full path); "
                                    "prlsrvctl is looked for beside it")
    basefolder: str | None = Field(
        None, description="where VMs are made (an absolute path on the Mac; the stack's VMs "
                          "go into its provisioner-STACK folder there); default: Parallels' "
                          "VM home")
    timeout: float = Field(300.0, gt=0, le=3600,
                           description="seconds one prlctl command may take")
    shutdown_timeout: float = Field(
        60.0, ge=0, le=3600, description="seconds a guest has to shut down after `prlctl "
                                         "stop`, before it is stopped with --kill")
    retry_timeout: float = Field(
        30.0, ge=0, description="seconds spent retrying a VM busy with another operation")
    max_parallel: int = Field(2, ge=1, le=16, description="concurrent changes")

    @property
    def prlsrvctl(self) -> str:
        """prlsrvctl beside prlctl (the same folder when prlctl is a path)."""
        folder, slash, _ = self.prlctl.rpartition("/")
        return f"{folder}{slash}prlsrvctl"


class GuestOptions(_Strict):
    """Parallels-only settings of a guest (``options:``)."""

    distribution: Distribution = Field(
        "linux", description="the guest OS as `prlctl create --distribution` names it "
                             "(ubuntu, debian, fedora, linux...)")


def probe() -> str:
    """Whether prlctl is on this machine's PATH (a block with ``host:`` needs it there)."""
    found = shutil.which("prlctl")
    return f"prlctl at {found}" if found else \
        "needs prlctl (Parallels Desktop Pro or Business) on the PATH, or `host:` to reach " \
        "a Mac over SSH"


plugin = ProviderPlugin(
    type_name="parallels",
    version=__version__,
    config_model=ParallelsConfig,
    provider_path="provisioner.providers.parallels.provider:ParallelsProvider",
    requires="",
    extra="",
    kinds=frozenset({Kind.GUEST}),
    options_models={Kind.GUEST: GuestOptions},
    summary="Parallels Desktop Pro/Business through prlctl (this Mac, or a Mac over SSH)",
    probe=probe,
)
