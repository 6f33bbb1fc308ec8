"""Proxmox VE provider: QEMU guests, LXC containers and directory storages.

This module is the plugin descriptor only: it must not import ``proxmoxer`` or
``requests`` (the CLI loads it to validate stacks on machines without them).
The provider itself lives in ``provider.py``.
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
from provisioner.stack.host_text import HostName, MachineType, NoteText, PlainText, Word
from provisioner.stack.values import Size, empty_list

Tag = Annotated[str, StringConstraints(pattern=r"^[a-z0-9_][a-z0-9_\-+.]*$", max_length=64)]
"""A Proxmox tag (PVE's pve-tag format, lowercase)."""



Tags = Annotated[list[Tag], AfterValidator(sorted_set)]
"""Tags are a set in Proxmox: kept sorted, so the order written never shows as a change."""
NodeList = Annotated[list[str], AfterValidator(sorted_set)]
SnippetVolume = Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9\-_.]*:snippets/\S+$")]
IpConfig = Annotated[str, StringConstraints(
    pattern=r"^(ip|ip6|gw|gw6)=[^,\s]+(,(ip|ip6|gw|gw6)=[^,\s]+)*$")]
"""One NIC's addresses as Proxmox writes them: ip=dhcp, or ip=10.0.0.5/24,gw=10.0.0.1."""


_endpoint = matching(r"^https://[^/\s]+/?$", "https://HOST:8006")
_token_id = matching(r"^[^@!\s]+@[^@!\s]+![A-Za-z][A-Za-z0-9._-]*$", "USER@REALM!NAME")
_username = matching(r"^[^@\s]+@[^@\s]+$", "USER@REALM")
_vmid_range = matching(r"^\d+-\d+$", "FIRST-LAST, such as 1000-1999")


class _Strict(BaseModel):
    model_config = ConfigDict(strict=True, frozen=True, extra="forbid", defer_build=True)


class ProxmoxConfig(_Strict):
    """Settings of a ``type: proxmox`` provider block."""

    endpoint: Annotated[str, AfterValidator(_endpoint)] = Field(
        description="the API address of any cluster node, such as https://pve1.lan:8006",
    )
    token_id: Annotated[str, AfterValidator(_token_id)] | None = Field(
        None, description="an API token: USER@REALM!NAME, such as provisioner@pve!ci "
                          "(recommended)",
    )
    token_secret: SecretStr | None = Field(
        None, description="the token's secret, from the environment: ${env.PVE_TOKEN_SECRET}"
    )
    username: Annotated[str, AfterValidator(_username)] | None = Field(
        None, description="password login instead of a token: USER@REALM, such as root@pam",
    )
    password: SecretStr | None = Field(
        None, description="the user's password, from the environment: ${env.PVE_PASSWORD}"
    )
    verify_tls: bool = Field(True, description="verify the API's TLS certificate")
    ca_file: str | None = Field(
        None, description="PEM file of the CA (or self-signed certificate) to verify against"
    )
    nodes: list[str] = Field(
        default_factory=empty_list,
        description="nodes this block may place guests on; the first is the default "
                    "(empty: every online node; the default is then the only node)",
    )
    storage: str = Field("local-lvm", description="storage for disks that name no `pool:`")
    vmid_range: Annotated[str, AfterValidator(_vmid_range)] | None = Field(
        None, description="VMIDs given to new guests and containers, such as 1000-1999",
    )
    timeout: float = Field(30.0, gt=0, le=600, description="seconds one API request may take")
    task_timeout: float = Field(900.0, gt=0, description="seconds one Proxmox task may take")
    retry_timeout: float = Field(
        120.0, ge=0, description="seconds spent retrying transient faults (locks, 5xx, lost "
                                 "quorum, dropped connections) before giving up")
    shutdown_timeout: int = Field(
        120, ge=1, description="seconds a clean shutdown may take before the guest is stopped"
    )
    max_parallel: int = Field(16, ge=1, le=128, description="concurrent changes on this cluster")
    node_parallel: int = Field(4, ge=1, le=64, description="concurrent tasks per node")
    storage_parallel: int = Field(
        4, ge=1, le=64, description="concurrent disk allocations and clones per storage"
    )
    read_parallel: int = Field(8, ge=1, le=64, description="concurrent reads during a plan")

    @model_validator(mode="after")
    def _one_login(self) -> ProxmoxConfig:
        token = self.token_id is not None or self.token_secret is not None
        password = self.username is not None or self.password is not None
        if token and password:
            raise ValueError("give either token_id and token_secret, or username and password")
        if token and (self.token_id is None or self.token_secret is None):
            raise ValueError("an API token needs both token_id and token_secret")
        if password and (self.username is None or self.password is None):
            raise ValueError("a password login needs both username and password")
        if not token and not password:
            raise ValueError("set token_id and token_secret (recommended), or username and "
                             "password")
        if self.ca_file is not None and not self.verify_tls:
            raise ValueError("ca_file is for verifying the certificate; drop verify_tls: false")
        first, last = self.vmids
        if not 100 <= first <= last <= 999_999_999:
            raise ValueError(f"vmid_range {self.vmid_range} is not a range inside 100-999999999")
        return self

    @property
    def vmids(self) -> tuple[int, int]:
        """The first and last VMID the provider may give (Proxmox's whole range by default)."""
        if self.vmid_range is None:
            return 100, 999_999_999
        first, _, last = self.vmid_range.partition("-")
        return int(first), int(last)


class Snippets(_Strict):
    """cloud-init files already on a storage with content ``snippets`` (``cicustom``)."""

    user: SnippetVolume | None = Field(None, description="such as local:snippets/web.yaml")
    network: SnippetVolume | None = None
    meta: SnippetVolume | None = None
    vendor: SnippetVolume | None = None


class CloudInitOptions(_Strict):
    """Proxmox's own cloud-init drive: user, keys, addresses, DNS, or snippets."""

    user: HostName | None = Field(None, description="the default user cloud-init creates")
    ssh_keys: list[PlainText] = Field(default_factory=empty_list,
                                      description="public keys for that user")
    ipconfig: list[IpConfig] = Field(
        default_factory=empty_list,
        description="per NIC, in order: ip=dhcp, or ip=10.0.0.5/24,gw=10.0.0.1",
    )
    nameserver: HostName | None = None
    searchdomain: PlainText | None = None
    storage: HostName | None = Field(None, description="storage for the cloud-init drive")
    custom: Snippets | None = Field(None, description="snippets used instead (cicustom)")


class GuestOptions(_Strict):
    """Proxmox-only settings of a guest (``options:``)."""

    sockets: int = Field(1, ge=1, le=4, description="CPU sockets; vCPUs = cpus x sockets")
    balloon: Size | None = Field(
        None, description="memory the balloon may shrink the guest to; 0MiB turns it off"
    )
    cpu_type: Word | None = Field(None, description="CPU model, such as host or x86-64-v2-AES")
    machine: MachineType | None = Field(None, description="machine type, such as q35")
    bios: Literal["seabios", "ovmf"] | None = None
    ostype: Word | None = Field(None, description="such as l26 (Linux) or win11")
    scsihw: Word | None = Field(None, description="SCSI controller, such as virtio-scsi-single")
    agent: bool | None = Field(None, description="the QEMU guest agent channel")
    tags: Tags = Field(default_factory=empty_list, description="Proxmox tags (besides ours)")
    description: NoteText = Field("", description="notes shown in the Proxmox UI")
    pool: HostName | None = Field(None, description="the Proxmox resource pool it belongs to")
    vmid: int | None = Field(None, ge=100, le=999_999_999, description="a fixed VMID")
    full_clone: bool = Field(True, description="with clone: a full copy, or a linked clone")
    cloud_init: CloudInitOptions | None = None
    restart: Literal["reboot", "never"] = Field(
        "reboot", description="whether apply may restart the guest for changes that need it; "
                              "never leaves them pending until you restart it")


class ContainerOptions(_Strict):
    """Proxmox-only settings of a container (``options:``)."""

    unprivileged: bool = Field(True, description="an unprivileged container")
    nesting: bool | None = Field(None, description="the nesting feature (systemd, Docker)")
    ipconfig: list[IpConfig] = Field(
        default_factory=empty_list,
        description="per NIC, in order: ip=dhcp, or ip=10.0.0.5/24,gw=10.0.0.1",
    )
    nameserver: HostName | None = None
    searchdomain: PlainText | None = None
    ssh_keys: list[PlainText] = Field(
        default_factory=empty_list, description="root's public keys, written when it is created"
    )
    tags: Tags = Field(default_factory=empty_list)
    description: NoteText = ""
    pool: HostName | None = Field(None, description="the Proxmox resource pool it belongs to")
    vmid: int | None = Field(None, ge=100, le=999_999_999)
    restart: Literal["reboot", "never"] = "reboot"


Content = Literal["images", "rootdir", "iso", "vztmpl", "backup", "snippets", "import"]


class PoolOptions(_Strict):
    """Proxmox-only settings of a pool (a directory storage)."""

    content: Annotated[list[Content], AfterValidator(sorted_set)] = Field(
        default_factory=lambda: list[Content](["images", "rootdir"]),
        description="what the storage holds",
    )
    shared: bool = Field(False, description="the directory is the same on every node (NFS mount)")
    nodes: NodeList = Field(default_factory=empty_list,
                            description="nodes that have it (empty: all)")


class ImageOptions(_Strict):
    """Proxmox-only settings of an image (``options:``)."""

    download: bool = Field(
        False, description="the node downloads the URL itself (the storage's download-url; "
                           "the node must reach it); default: uploaded from this machine's "
                           "verified copy")


plugin = ProviderPlugin(
    type_name="proxmox",
    version=__version__,
    config_model=ProxmoxConfig,
    provider_path="provisioner.providers.proxmox.provider:ProxmoxProvider",
    requires="proxmoxer",
    extra="proxmox",
    kinds=frozenset({Kind.POOL, Kind.GUEST, Kind.CONTAINER, Kind.IMAGE}),
    options_models={
        Kind.POOL: PoolOptions,
        Kind.GUEST: GuestOptions,
        Kind.CONTAINER: ContainerOptions,
        Kind.IMAGE: ImageOptions,
    },
    memory_unit=1024 * 1024,  # MiB
    summary="Proxmox VE: QEMU guests, LXC containers, directory storages, images "
            "(API token)",
)
