"""Hyper-V provider: VMs driven through PowerShell's Hyper-V module, on this Windows
machine or on a Hyper-V host over WinRM (PowerShell remoting, ``pypsrp``).

This module is the plugin descriptor only (the CLI loads it to validate stacks):
it imports nothing the provider needs at run time. The provider lives in
``provider.py``; it talks to Hyper-V only through ``powershell.py``, which runs
the scripts ``script.py`` writes through the kit's command runner (``powershell.exe``
or ``pwsh`` here) or through ``psrp.py`` (a remote host).
"""

from __future__ import annotations

import importlib.util
import shutil
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from provisioner import __version__
from provisioner.core.address import Kind
from provisioner.core.plugins import ProviderPlugin
from provisioner.stack.values import Size


class _Strict(BaseModel):
    model_config = ConfigDict(strict=True, frozen=True, extra="forbid", defer_build=True)


class HyperVConfig(_Strict):
    """Settings of a ``type: hyperv`` provider block (Windows Server 2016+, Windows 10/11)."""

    host: str | None = Field(
        None, min_length=1, description="a Hyper-V host reached over WinRM (PowerShell "
                                        "remoting); default: this Windows machine")
    port: int = Field(5986, ge=1, le=65535, description="the WinRM port (5986: HTTPS)")
    ssl: bool = Field(True, description="WinRM over HTTPS (false: HTTP, where the "
                                        "authentication still encrypts the messages)")
    cert_validation: bool = Field(True, description="verify the host's TLS certificate")
    ca_file: str | None = Field(None, min_length=1,
                                description="a PEM bundle that signs the host's certificate")
    auth: Literal["negotiate", "ntlm", "kerberos", "credssp"] = Field(
        "negotiate", description="WinRM authentication")
    username: str | None = Field(None, min_length=1,
                                 description="the WinRM user (DOMAIN\\user or user@domain)")
    password_env: str | None = Field(
        None, pattern=r"^[A-Za-z_][A-Za-z0-9_]*$",
        description="the environment variable holding the user's password (never the "
                    "password itself)")
    powershell: str = Field("powershell.exe", min_length=1,
                            description="the PowerShell program on this machine "
                                        "(powershell.exe, or pwsh)")
    path: str | None = Field(
        None, min_length=1, description="the folder on the host where VMs, their disks and "
                                        "seeds are made; default: the host's "
                                        "VirtualMachinePath")
    timeout: float = Field(300.0, gt=0, le=3600,
                           description="seconds one PowerShell script may take")
    shutdown_timeout: float = Field(
        60.0, ge=0, le=3600, description="seconds a guest has to shut down (Stop-VM) "
                                         "before it is turned off (Stop-VM -TurnOff)")
    max_parallel: int = Field(2, ge=1, le=16, description="concurrent changes")


class GuestOptions(_Strict):
    """Hyper-V-only settings of a guest (``options:``)."""

    generation: Literal[1, 2] = Field(2, description="the VM generation (2: UEFI, SCSI "
                                                     "disks; 1: BIOS, IDE disks); a "
                                                     "change replaces the guest")
    secure_boot: Literal["off", "linux", "windows"] = Field(
        "off", description="generation 2 secure boot: off, linux (the Microsoft UEFI "
                           "Certificate Authority template) or windows")
    dynamic_memory: bool = Field(False, description="dynamic memory: memory is the "
                                                    "startup size, between memory_minimum "
                                                    "and memory_maximum")
    memory_minimum: Size | None = Field(None, description="dynamic memory's floor "
                                                          "(default: memory)")
    memory_maximum: Size | None = Field(None, description="dynamic memory's ceiling "
                                                          "(default: memory)")


def probe() -> str:
    """Whether PowerShell is on this machine's PATH, and pypsrp (for ``host:``) installed."""
    found = shutil.which("powershell.exe") or shutil.which("pwsh")
    local = f"PowerShell at {found}" if found else \
        "no PowerShell here (needs Windows with the Hyper-V module)"
    remote = "host: over WinRM ready (pypsrp)" if importlib.util.find_spec("pypsrp") else \
        "host: over WinRM needs pip install 'provisioner[hyperv]'"
    return f"{local}; {remote}"


plugin = ProviderPlugin(
    type_name="hyperv",
    version=__version__,
    config_model=HyperVConfig,
    provider_path="provisioner.providers.hyperv.provider:HyperVProvider",
    requires="",
    extra="hyperv",
    kinds=frozenset({Kind.GUEST}),
    options_models={Kind.GUEST: GuestOptions},
    summary="Hyper-V through PowerShell (this Windows machine, or a host over WinRM)",
    memory_unit=2 * 1024 * 1024,
    probe=probe,
)
