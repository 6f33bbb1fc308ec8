"""XenServer / XCP-ng provider: virtual machines on a XAPI pool (the ``XenAPI`` package).

This module is the plugin descriptor only: it must not import ``XenAPI`` (the
CLI loads it to validate stacks on machines without it). The provider itself
lives in ``provider.py``.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    SecretStr,
    StringConstraints,
    model_validator,
)

from provisioner import __version__
from provisioner.core.address import Kind
from provisioner.core.plugins import ProviderPlugin
from provisioner.providers.kit.forms import matching, sorted_set
from provisioner.stack.host_text import NoteText, PlainText
from provisioner.stack.values import Size, empty_dict, empty_list

Tag = Annotated[str, StringConstraints(min_length=1, max_length=128, pattern=r"^[^\s,]+$")]
Tags = Annotated[list[Tag], AfterValidator(sorted_set)]
"""Tags are a set in XAPI: kept sorted, so the order written never shows as a change."""
PlatformKey = Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_\-]*$", max_length=64)]
XenstoreKey = Annotated[str, StringConstraints(pattern=r"^vm-data(/[A-Za-z0-9_\-.]+)+$",
                                               max_length=200)]
_url = matching(r"^https?://[^/\s]+/?$", "https://POOL-MASTER (or http:// with "
                                          "verify_tls: false)")


class _Strict(BaseModel):
    model_config = ConfigDict(strict=True, frozen=True, extra="forbid", defer_build=True)


class XenServerConfig(_Strict):
    """Settings of a ``type: xenserver`` provider block (XenServer 8, XCP-ng 8.2 / 8.3)."""

    url: Annotated[str, AfterValidator(_url)] = Field(
        description="the pool master's address, such as https://xcp1.lab.example (another "
                    "pool member works too: the provider follows it to the master)")
    username: str = Field(min_length=1, description="such as root, or an AD user with a role")
    password: SecretStr = Field(
        description="the user's password, from the environment: ${env.XAPI_PASSWORD}")
    verify_tls: bool = Field(True, description="verify the server's TLS certificate")
    ca_file: str | None = Field(
        None, description="PEM file of the CA (or the pool master's self-signed certificate, "
                          "/etc/xensource/xapi-ssl.pem's certificate part) to verify against")
    sr: str | None = Field(
        None, description="the storage repository (name) for disks that name no `pool:` "
                          "(default: the pool's default SR)")
    timeout: float = Field(60.0, gt=0, le=600, description="seconds one API call may take")
    task_timeout: float = Field(900.0, gt=0, description="seconds one XAPI task may take "
                                                         "(then it is cancelled)")
    shutdown_timeout: float = Field(
        120.0, ge=0, description="seconds a clean shutdown may take before a hard shutdown")
    retry_timeout: float = Field(
        60.0, ge=0, description="seconds spent retrying transient faults (another operation "
                                "in progress, dropped connections, a master changing)")
    max_parallel: int = Field(8, ge=1, le=64, description="concurrent changes on this pool")
    host_parallel: int = Field(4, ge=1, le=64,
                               description="concurrent changes on one host")

    @model_validator(mode="after")
    def _consistent(self) -> XenServerConfig:
        if self.ca_file is not None and not self.verify_tls:
            raise ValueError("ca_file is for verifying the certificate; drop verify_tls: false")
        if self.url.startswith("http://") and self.verify_tls:
            raise ValueError("http:// sends the password in clear: use https://, or say "
                             "verify_tls: false to accept that (a lab only)")
        return self


class GuestOptions(_Strict):
    """XenServer-only settings of a guest (``options:``)."""

    cpus_max: int | None = Field(
        None, ge=1, le=254, description="VCPUs_max: vCPUs the guest may be given while it "
                                        "runs (default: cpus; changing it needs a restart)")
    memory_max: Size | None = Field(
        None, description="memory_static_max: memory may change up to this while the guest "
                          "runs (default: memory; changing it needs a restart)")
    memory_min: Size | None = Field(
        None, description="memory_dynamic_min: what dynamic memory may shrink the guest to "
                          "(default: memory, no ballooning)")
    full_copy: bool = Field(
        False, description="with clone: a full copy (VM.copy) instead of a fast clone; "
                           "implied when the disks go to another SR than the template's")
    firmware: Literal["bios", "uefi"] | None = Field(
        None, description="boot firmware of a guest made without a template (default: bios)")
    boot_order: Annotated[str, StringConstraints(pattern=r"^[cdn]{1,3}$")] | None = Field(
        None, description="HVM boot order: c disk, d CD, n network, such as cdn")
    platform: dict[PlatformKey, PlainText] = Field(
        default_factory=empty_dict, description="platform flags added to the template's, such as "
                                          "{viridian: 'true'}")
    xenstore_data: dict[XenstoreKey, PlainText] = Field(
        default_factory=empty_dict, description="keys the guest reads from xenstore, under "
                                          "vm-data/ (for agents that take their settings "
                                          "there)")
    tags: Tags = Field(default_factory=empty_list, description="XAPI tags (besides ours)")
    description: NoteText = Field("", max_length=1000, description="the VM's description")


plugin = ProviderPlugin(
    type_name="xenserver",
    version=__version__,
    config_model=XenServerConfig,
    provider_path="provisioner.providers.xenserver.provider:XenServerProvider",
    requires="XenAPI",
    extra="xenserver",
    kinds=frozenset({Kind.GUEST}),
    options_models={Kind.GUEST: GuestOptions},
    summary="XenServer / XCP-ng: VMs on a XAPI pool (templates, SRs, networks)",
)
