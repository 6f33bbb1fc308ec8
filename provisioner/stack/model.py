"""The stack file, as strict and frozen pydantic models.

These models are the user-facing contract (and the source of
``schemas/stack.schema.json``): an unknown key is an error, a string is never
silently turned into a number, sizes need units. Provider blocks and each
resource's ``options`` are validated in a second pass by the provider plugin
named by ``type``, so plugins can add settings without touching this file.
"""

from __future__ import annotations

import ipaddress
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    GetJsonSchemaHandler,
    StringConstraints,
    create_model,
    model_validator,
)
from pydantic.json_schema import JsonSchemaValue
from pydantic_core import CoreSchema

from provisioner.images.checksums import CHECKSUM_PATTERN
from provisioner.stack.host_text import (
    DiskSlot,
    DnsDomain,
    HostName,
    InterfaceName,
    NicModel,
    PlainText,
)
from provisioner.stack.values import (
    Cidr,
    Identifier,
    IPv4,
    MacAddress,
    Name,
    Options,
    Port,
    PositiveSize,
    Size,
    empty_dict,
    empty_list,
)
from provisioner.state.backends import (
    BackendName,
    LocalSettings,
    PostgresSettings,
    settings_problem,
)

API_VERSION = "provisioner/v1"


class StrictModel(BaseModel):
    """Base of every stack model: unknown keys refused, no coercion, immutable."""

    model_config = ConfigDict(strict=True, frozen=True, extra="forbid", defer_build=True)


class Lifecycle(StrictModel):
    """How the planner may treat a resource."""

    prevent_destroy: bool = Field(
        False, description="refuse any plan that would delete or replace this resource"
    )
    ignore_changes: list[str] = Field(
        default_factory=empty_list,
        description="fields never diffed, such as memory or disks[0].size",
    )
    create_before_destroy: bool = Field(
        False, description="on replacement, create the new object before deleting the old one"
    )


class CapacitySettings(StrictModel):
    """How much of a host the plan-time check lets guests reserve."""

    cpu_overcommit: float = Field(4.0, gt=0, le=64,
                                  description="vCPUs of running guests per host CPU")
    memory_overcommit: float = Field(1.0, gt=0, le=16,
                                     description="memory of running guests per byte of RAM")
    reserve_memory: Size = Field("0B", validate_default=True,
                                 description="memory kept for the host itself")
    reserve_cpus: int = Field(0, ge=0, description="CPUs kept for the host itself")


class ProviderBlock(BaseModel):
    """A provider instance: ``type`` picks the plugin; ``capacity`` is the plan-time
    check's settings; the rest is that plugin's settings."""

    model_config = ConfigDict(strict=True, frozen=True, extra="allow", defer_build=True)

    type: str = Field(description="the provider plugin, such as libvirt or proxmox")
    capacity: CapacitySettings = Field(default_factory=CapacitySettings)


class PlacementGroup(StrictModel):
    """Several provider blocks (one libvirt host each) that guests are placed across."""

    providers: list[Name] = Field(min_length=1, description="provider blocks of the group")
    strategy: Literal["spread", "pack"] = Field(
        "spread", description="spread: most room left; pack: fill the fullest that fits")


class Placement(StrictModel):
    """How a guest with ``node: auto`` (or on a placement group) is placed."""

    strategy: Literal["spread", "pack"] | None = Field(
        None, description="default: the group's, else spread")
    spread_across: list[str] = Field(
        default_factory=empty_list, description="keep off nodes that run these, such as guests.web")


class Variable(StrictModel):
    """An input of the stack, set by default, --var or --var-file."""

    type: Literal["string", "integer", "number", "boolean", "list", "map"] | None = Field(
        None, description="the value's type; taken from the default when omitted"
    )
    default: Any = None
    description: str = ""
    sensitive: bool = Field(
        False, description="the value is a secret: only secret fields may use it"
    )


class _StateBackendChoice(StrictModel):
    backend: BackendName = "local"


# ``backend`` names a registered state backend (state/backends.py); the other keys
# are the backends' own settings models, one base each (fields listed in base order,
# last base first), so each backend owns its keys, their checks and their schema.
class StateConfig(PostgresSettings, LocalSettings, _StateBackendChoice):
    """Where the state (lock, journal, last applied specs) is kept."""

    @model_validator(mode="after")
    def _backend_settings(self) -> StateConfig:
        problem = settings_problem(self, self.backend)
        if problem is not None:
            raise ValueError(problem)
        return self


class ResourceBase(StrictModel):
    """Keys every resource kind has."""

    provider: Name = Field(description="the name of a block under providers")
    lifecycle: Lifecycle = Field(default_factory=Lifecycle)
    depends_on: list[str] = Field(
        default_factory=empty_list, description="addresses created first, such as guests.db"
    )
    options: Options = Field(
        default_factory=empty_dict,
        description="provider-specific settings (see the provider's docs)"
    )
    for_each: list[str] | dict[str, Any] | None = Field(
        None, description="one instance per key, named NAME-KEY: a list of keys, or a map "
                          "of key to value; ${each.key} and ${each.value} in its values")
    enabled: bool = Field(
        True, description="false: the resource is left out of the stack (an existing one "
                          "is deleted); such as ${var.with_monitoring}")


class Pool(ResourceBase):
    """A storage pool: a directory of disk images on the host."""

    type: Literal["dir"] = "dir"
    path: HostName = Field(description="absolute directory on the host, such as /srv/vm-images")

    @model_validator(mode="after")
    def _absolute(self) -> Pool:
        if not self.path.startswith("/"):
            raise ValueError(f"path '{self.path}' is not absolute; write it from /")
        return self


ImageFormat = Literal["qcow2", "raw", "iso", "vmdk", "ova"]
REMOTE_SCHEMES = ("http://", "https://")


class Image(ResourceBase):
    """A disk image fetched from a URL (or a file), verified, and imported into the
    storage of each provider block that needs it."""

    provider: Name | None = Field(  # type: ignore[assignment]
        None, description="the one provider block it is imported into")
    providers: list[Name] | None = Field(
        None, description="the provider blocks it is imported into; default: every "
                          "provider block of a guest that uses it")
    url: str = Field(description="https://, http://, file:// or a path relative to the "
                                 "stack directory")
    checksum: str | None = Field(
        None, pattern=CHECKSUM_PATTERN,
        description="sha256:HEX or sha512:HEX; required for http(s) unless checksum_url")
    checksum_url: str | None = Field(
        None, description="a SHA256SUMS/SHA512SUMS file; the line for this image is used")
    format: ImageFormat | None = Field(None, description="detected from the file if omitted")
    pool: HostName | None = Field(
        None, description="storage pool, storage or datastore; the provider's default if "
                          "omitted")

    @model_validator(mode="after")
    def _consistent(self) -> Image:
        if self.provider is not None and self.providers is not None:
            raise ValueError("give `provider:` or `providers:`, not both")
        if self.checksum is not None and self.checksum_url is not None:
            raise ValueError("give `checksum:` or `checksum_url:`, not both")
        if (self.url.startswith(REMOTE_SCHEMES) and self.checksum is None
                and self.checksum_url is None):
            raise ValueError("an image from http(s) needs `checksum:` (sha256:HEX or "
                             "sha512:HEX) or `checksum_url:`, so what is imported is what "
                             "was meant")
        return self


class DhcpRange(StrictModel):
    """The addresses DHCP hands out, inside the network's cidr."""

    start: IPv4
    end: IPv4


class Network(ResourceBase):
    """A virtual network."""

    mode: Literal["nat", "isolated", "routed", "bridge", "user", "private"] = Field(
        "nat", description="nat, isolated, routed, bridge (libvirt); user, private (qemu)")
    cidr: Cidr | None = Field(None, description="subnet, such as 10.42.0.0/24")
    dhcp: bool = Field(True, description="serve DHCP on the subnet (not for bridge)")
    dhcp_range: DhcpRange | None = Field(
        None, description="default: from the second address of the subnet to the last"
    )
    bridge: InterfaceName | None = Field(None, description="the host bridge, for mode bridge")
    domain: DnsDomain | None = Field(None, description="DNS domain served to guests")

    @model_validator(mode="after")
    def _consistent(self) -> Network:
        if self.mode == "bridge" and not self.bridge:
            raise ValueError("mode bridge needs `bridge:` naming a host bridge, such as br0")
        if self.mode in ("nat", "routed") and self.cidr is None:
            raise ValueError(f"mode {self.mode} needs `cidr:`, such as 10.42.0.0/24")
        if self.cidr is not None and ipaddress.IPv4Network(self.cidr).prefixlen > 30:
            raise ValueError(f"cidr {self.cidr} leaves no address for guests once the "
                             "network, gateway and broadcast addresses are taken; give a "
                             "/30 or wider, such as a /24")
        if self.dhcp_range is not None:
            _check_dhcp_range(self.dhcp_range, self.cidr)
        return self


def _check_dhcp_range(span: DhcpRange, cidr: str | None) -> None:
    """Inside the subnet and ascending (``stored_values`` keeps it off the network and
    broadcast addresses, at the line of the address)."""
    subnet = ipaddress.IPv4Network(cidr or "0.0.0.0/32")
    start, end = ipaddress.IPv4Address(span.start), ipaddress.IPv4Address(span.end)
    if start not in subnet or end not in subnet or start > end:
        raise ValueError(f"dhcp_range {start}-{end} is not an ascending range inside "
                         f"cidr {cidr}")


class Volume(ResourceBase):
    """A disk image that outlives guests and can be attached to one."""

    size: PositiveSize
    pool: HostName | None = Field(None,
                                  description="storage pool; the provider's default if omitted")
    format: Literal["qcow2", "raw"] = "qcow2"


class Disk(StrictModel):
    """A guest disk: a new one (size, optional image) or an attached volume."""

    size: PositiveSize | None = None
    pool: HostName | None = None
    image: HostName | None = Field(None, description="base image the disk starts from")
    volume: Name | None = Field(None, description="a volume declared under volumes")
    format: Literal["qcow2", "raw"] | None = None
    bus: Literal["virtio", "scsi", "sata", "ide"] | None = None
    slot: DiskSlot | None = Field(
        None, description="where it is attached, such as scsi0 (Proxmox) or vdb (libvirt)"
    )

    @model_validator(mode="after")
    def _new_or_attached(self) -> Disk:
        if self.volume is not None:
            if self.size is not None or self.image is not None or self.pool is not None:
                raise ValueError("a disk with `volume:` takes its size and pool from the volume")
        elif self.size is None and self.image is None:
            raise ValueError("a disk needs `size:`, `image:` or `volume:`")
        return self


class Forward(StrictModel):
    """A port of the host forwarded to a port of the guest (a user-mode network)."""

    host: Port = Field(description="the host's port, such as 2222")
    guest: int = Field(ge=1, le=65535, description="the guest's port, such as 22")
    protocol: Literal["tcp", "udp"] = "tcp"
    address: IPv4 = Field("127.0.0.1", description="the host address it listens on; "
                                                   "0.0.0.0 for every interface")


class Nic(StrictModel):
    """A network interface on a declared network, a host network or a host bridge."""

    network: Name | None = Field(None, description="a network declared under networks")
    host_network: HostName | None = Field(None, description="a network the host already has")
    bridge: InterfaceName | None = Field(None, description="a host bridge, such as br0")
    mac: MacAddress | None = None
    ip: IPv4 | None = Field(None, description="fixed address (a DHCP reservation)")
    model: NicModel | None = Field(None, description="NIC model, such as virtio or e1000")
    vlan: int | None = Field(None, ge=1, le=4094, description="802.1Q VLAN tag")
    firewall: bool | None = Field(None, description="the hypervisor's firewall on this NIC")
    forwards: list[Forward] | None = Field(
        None, description="host ports forwarded to this NIC (qemu user mode)")

    @model_validator(mode="after")
    def _one_attachment(self) -> Nic:
        given = [key for key in ("network", "host_network", "bridge") if getattr(self, key)]
        if len(given) != 1:
            raise ValueError("a NIC needs exactly one of `network:`, `host_network:`, `bridge:`")
        return self


CLOUD_INIT_FILES = ("user_data", "meta_data", "network_config")
"""The keys of ``cloud_init:`` that hold content: inline, or a file of the stack directory."""


class CloudInit(StrictModel):
    """cloud-init NoCloud data. A value starting with '#' is inline; else a file path."""

    user_data: str | None = Field(None, description="file (relative to the stack) or inline")
    meta_data: str | None = None
    network_config: str | None = None
    on_change: Literal["reboot", "replace", "ignore"] = Field(
        "replace", description="what a changed user-data does to an existing guest"
    )


GroupName = Annotated[str, StringConstraints(pattern=r"^[A-Za-z_][A-Za-z0-9_-]{0,62}$")]
Command = Annotated[str, StringConstraints(min_length=1, max_length=8192)]


class Hook(StrictModel):
    """A command run once the guest is ready: over SSH on the guest, or on this machine."""

    ssh: Command | None = Field(None, description="a shell command run on the guest over "
                                                  "ssh, as its login user")
    local: Command | None = Field(
        None, description="a shell command run here, in the stack's directory, with the "
                          "guest's facts in PROVISIONER_* environment variables")

    @model_validator(mode="before")
    @classmethod
    def _plain_text_is_ssh(cls, value: Any) -> Any:
        return {"ssh": value} if isinstance(value, str) else value

    @classmethod
    def __get_pydantic_json_schema__(cls, core_schema: CoreSchema,
                                     handler: GetJsonSchemaHandler) -> JsonSchemaValue:
        """Plain text is a command run over ssh: the schema says so too."""
        as_object = handler(core_schema)
        return {"anyOf": [{"type": "string", "minLength": 1, "maxLength": 8192,
                           "description": "a shell command run on the guest over ssh"},
                          as_object]}

    @model_validator(mode="after")
    def _one_place(self) -> Hook:
        if (self.ssh is None) == (self.local is None):
            raise ValueError("a hook is a command (run over ssh), or {ssh: CMD}, or "
                             "{local: CMD}")
        return self


class SshAccess(StrictModel):
    """How to log in to a guest over SSH."""

    user: Annotated[str, StringConstraints(pattern=r"^[a-z_][a-z0-9_.-]{0,31}$")] | None = \
        Field(None, description="the login user (default: cloud-init's first user)")
    port: int | None = Field(None, ge=1, le=65535, description="default: 22, or the host "
                                                                "port forwarded to it")
    identity_file: str | None = Field(None, description="the private key, such as "
                                                        "~/.ssh/id_ed25519")


class Guest(ResourceBase):
    """A virtual machine."""

    count: int | None = Field(None, ge=0, le=10000, description="N instances: name-0..name-N-1")
    cpus: int = Field(1, ge=1, le=1024)
    memory: PositiveSize = Field("1GiB", validate_default=True, description="such as 2GiB")
    image: HostName | None = Field(None, description="base image of the first disk")
    clone: HostName | None = Field(
        None, description="a template to clone the guest from (Proxmox, vSphere)"
    )
    node: HostName | None = Field(
        None, description="the host or cluster node it runs on; auto: placed by free room")
    placement: Placement | None = None
    disks: list[Disk] = Field(default_factory=empty_list)
    networks: list[Nic] = Field(default_factory=empty_list)
    cloud_init: CloudInit | None = None
    power: Literal["running", "stopped"] = "running"
    autostart: bool = Field(False, description="start with the host")
    wait_for: Literal["ip", "ssh", "cloud-init"] | None = Field(
        None, description="apply waits until the guest has an IP address (ip), answers "
                          "SSH (ssh), or has finished cloud-init (cloud-init, over ssh)")
    wait_timeout: int = Field(300, ge=1, le=86400, description="seconds wait_for may take")
    groups: list[GroupName] = Field(
        default_factory=empty_list, description="Ansible groups of `provisioner inventory`, "
                                          "besides the guest's own name")
    ssh: SshAccess | None = Field(
        None, description="how `provisioner ssh`, ssh-config and the inventory log in "
                          "(default: its address, port 22, the cloud-init user)")
    after_create: list[Hook] = Field(
        default_factory=empty_list, description="commands run in order once a new guest is ready "
                                          "(after wait_for)")
    after_update: list[Hook] = Field(
        default_factory=empty_list, description="commands run in order after each update of the "
                                          "guest, once it is ready")


class RootDisk(StrictModel):
    """A container's root filesystem."""

    size: PositiveSize
    pool: HostName | None = Field(None, description="storage for it; the provider's default")


class Mount(StrictModel):
    """An extra filesystem of a container."""

    path: PlainText = Field(description="where it is mounted in the container, such as /srv")
    size: PositiveSize
    pool: HostName | None = None


class Container(ResourceBase):
    """A system container (LXC)."""

    count: int | None = Field(None, ge=0, le=10000, description="N instances: name-0..name-N-1")
    template: HostName = Field(description="the OS template, such as "
                                      "local:vztmpl/debian-12-standard_12.7-1_amd64.tar.zst")
    cpus: int = Field(1, ge=1, le=1024)
    memory: PositiveSize = Field("512MiB", validate_default=True)
    swap: Size | None = None
    rootfs: RootDisk = Field(default_factory=lambda: RootDisk(size="4GiB"))  # type: ignore[arg-type]
    mounts: list[Mount] = Field(default_factory=empty_list)
    networks: list[Nic] = Field(default_factory=empty_list)
    node: HostName | None = Field(None, description="the host or cluster node it runs on")
    power: Literal["running", "stopped"] = "running"
    autostart: bool = False


class ModuleCall(StrictModel):
    """One use of a module: a directory of stack files, with its inputs."""

    source: str = Field(description="the module's directory, relative to this file, such "
                                    "as ../modules/k8s-cluster")
    inputs: dict[str, Any] = Field(default_factory=empty_dict,
                                   description="values of the module's variables")
    providers: dict[Name, Name] = Field(
        default_factory=empty_dict, description="the module's provider names -> this stack's "
                                          "blocks (unbound names: the block of that name)")
    name_prefix: Annotated[str, StringConstraints(pattern=r"^([a-z0-9][a-z0-9-]*)?$",
                                                  max_length=40)] | None = Field(
        None, description="put before the module's names on the hypervisor; default: "
                          "the module's path and '-', such as k8s-")
    enabled: bool = Field(True, description="false: the module's resources are not "
                                            "declared")
    for_each: list[str] | dict[str, Any] | None = Field(
        None, description="one instance per key (module NAME-KEY), with ${each.key} and "
                          "${each.value} in the inputs")


class MovedBlock(StrictModel):
    """A resource that has a new address and keeps its object."""

    before: str = Field(alias="from", description="the old address, such as guests.web")
    to: str = Field(description="the new, declared address, such as module.web.guests.web")


SENSITIVE_MASK = "(sensitive)"
"""What is printed and recorded in the state for a sensitive output's value."""


class OutputSpec(StrictModel):
    """An output with settings; a plain string is the same as {value: ...}."""

    value: str
    description: str = ""
    sensitive: bool = False


class StackSettings(StrictModel):
    """The keys of a stack that are not resource sections."""

    api_version: Literal["provisioner/v1"] = Field(alias="apiVersion")
    stack: Name = Field(description="the stack name; tags every object created")
    state: StateConfig = Field(default_factory=StateConfig)
    providers: dict[Name, ProviderBlock] = Field(default_factory=empty_dict)
    placement_groups: dict[Name, PlacementGroup] = Field(default_factory=empty_dict)
    variables: dict[Identifier, Variable] = Field(default_factory=empty_dict)
    moved: list[MovedBlock] = Field(default_factory=empty_list,
                                    description="resources with a new address, same object")
    outputs: dict[Identifier, str | OutputSpec] = Field(default_factory=empty_dict)

    model_config = ConfigDict(strict=True, frozen=True, extra="forbid", populate_by_name=False)


class StackModel(StackSettings):
    """One stack: the merged content of its files."""

    pools: dict[Name, Pool] = Field(default_factory=empty_dict)
    images: dict[Name, Image] = Field(default_factory=empty_dict)
    networks: dict[Name, Network] = Field(default_factory=empty_dict)
    volumes: dict[Name, Volume] = Field(default_factory=empty_dict)
    guests: dict[Name, Guest] = Field(default_factory=empty_dict)
    containers: dict[Name, Container] = Field(default_factory=empty_dict)
    modules: dict[Name, ModuleCall] = Field(default_factory=empty_dict)


NOT_IN_A_MODULE = ("stack", "providers", "state", "placement_groups", "moved")
"""The keys of a stack file that a module's files do not have (stack/modules.py): the
stack's are used; moves are written in the stack, with whole addresses."""
NOT_IN_SPEC = frozenset({"provider", "providers", "lifecycle", "depends_on", "count",
                         "for_each", "enabled"})
"""Keys that say how the planner treats a resource; never diffed."""
SETTINGS = frozenset({"wait_for", "wait_timeout", "placement", "url", "checksum_url",
                      "groups", "ssh", "after_create", "after_update"})
"""Keys that say how apply carries out a change (``Resource.settings``); never diffed."""

SECTION_MODELS: dict[str, type[ResourceBase]] = {
    "pools": Pool,
    "images": Image,
    "networks": Network,
    "volumes": Volume,
    "guests": Guest,
    "containers": Container,
}

_ONLY_MAPPINGS: dict[str, Any] = {section: (dict[str, Any], Field(default_factory=empty_dict))
                                  for section in (*SECTION_MODELS, "modules")}
StackSkeleton = create_model(
    "StackSkeleton", __base__=StackSettings, __doc__=(
        "A stack whose sections are only checked to be mappings: the loader validates "
        "them entry by entry, each with its own model, so validating the top level "
        "this way builds no resource model twice (issue 19: about 12 ms of every "
        "command that reads a stack)."),
    __module__=__name__, **_ONLY_MAPPINGS)
