"""Typed views of a resource's spec: what providers read instead of ``spec["cpus"]``.

A ``Resource`` (and a ``LiveObject``) carries its spec as a plain mapping: the
shape plans diff, JSON prints and state stores. Providers read it through
these views, so that a field's name and type are checked by mypy::

    guest = GuestSpec.of(resource.spec)
    if guest.running and guest.memory > limit: ...
    options = guest.options_as(GuestOptions)      # the provider's own model

A view is built without validating anything again (the stack loader did);
a key a spec lacks (a live object's field the hypervisor cannot report)
reads as the field's default. Views are frozen: a provider that needs a
changed spec builds a new mapping.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from provisioner.core.resources import Blob

M = TypeVar("M", bound=BaseModel)
_NO_OPTIONS: Mapping[str, Any] = {}


def _get(spec: Mapping[str, Any], key: str, default: Any = None) -> Any:
    value = spec.get(key, default)
    return default if value is None else value


def _maybe_int(value: Any) -> int | None:
    return None if value is None else int(value)


def _maybe_str(value: Any) -> str | None:
    return None if value is None else str(value)


@dataclass(frozen=True)
class _WithOptions:
    """Provider settings (``options:``), as the stack set them (defaults left out)."""

    options: Mapping[str, Any] = field(default_factory=dict, kw_only=True)

    def options_as(self, model: type[M]) -> M:
        """The options as the provider's own model, defaults filled in. Keys the model
        does not know are left out, and values a live object reports that the model
        would refuse (notes longer than a stack may write) are taken as they are: a
        view never fails on what the hypervisor holds."""
        known = {key: value for key, value in self.options.items()
                 if key in model.model_fields}
        try:
            return model.model_validate(known)
        except ValidationError as exc:
            refused = {str(error["loc"][0]) for error in exc.errors() if error["loc"]}
        valid = {key: value for key, value in known.items() if key not in refused}
        try:
            checked = dict(model.model_validate(valid))
        except ValidationError:  # a check across fields: take every value as it is
            checked = valid
        return model.model_construct(**{**checked, **{key: known[key] for key in refused}})


@dataclass(frozen=True)
class DiskSpec:
    """One disk of a guest: a new one (``size``, maybe from ``image``) or an attached
    volume (``volume``)."""

    size: int | None = None
    pool: str | None = None
    image: str | None = None
    volume: str | None = None
    format: str | None = None
    bus: str | None = None
    slot: str | None = None

    @property
    def attached(self) -> bool:
        """Whether it is a ``volumes:`` entry attached, not a disk of the guest's own."""
        return self.volume is not None

    @classmethod
    def of(cls, spec: Mapping[str, Any]) -> DiskSpec:
        return cls(_maybe_int(spec.get("size")), _maybe_str(spec.get("pool")),
                   _maybe_str(spec.get("image")), _maybe_str(spec.get("volume")),
                   _maybe_str(spec.get("format")), _maybe_str(spec.get("bus")),
                   _maybe_str(spec.get("slot")))


@dataclass(frozen=True)
class ForwardSpec:
    """A host port forwarded to a guest port."""

    host: int
    guest: int
    protocol: str = "tcp"
    address: str = "127.0.0.1"

    @classmethod
    def of(cls, spec: Mapping[str, Any]) -> ForwardSpec:
        return cls(int(spec["host"]), int(spec["guest"]), str(_get(spec, "protocol", "tcp")),
                   str(_get(spec, "address", "127.0.0.1")))


@dataclass(frozen=True)
class NicSpec:
    """One network interface: on a declared network, a host network or a bridge."""

    network: str | None = None
    host_network: str | None = None
    bridge: str | None = None
    mac: str | None = None
    ip: str | None = None
    model: str | None = None
    vlan: int | None = None
    firewall: bool | None = None
    forwards: tuple[ForwardSpec, ...] = ()

    @property
    def attachment(self) -> str | None:
        """What it is plugged into: the network, host network or bridge named."""
        return self.network or self.host_network or self.bridge

    @classmethod
    def of(cls, spec: Mapping[str, Any]) -> NicSpec:
        firewall = spec.get("firewall")
        return cls(_maybe_str(spec.get("network")), _maybe_str(spec.get("host_network")),
                   _maybe_str(spec.get("bridge")), _maybe_str(spec.get("mac")),
                   _maybe_str(spec.get("ip")), _maybe_str(spec.get("model")),
                   _maybe_int(spec.get("vlan")), None if firewall is None else bool(firewall),
                   tuple(ForwardSpec.of(forward) for forward in spec.get("forwards") or ()))


@dataclass(frozen=True)
class CloudInitSpec:
    """cloud-init NoCloud data, as content the stack read (``Blob``: compared by digest,
    never shown); a live object or a stored spec has content-less blobs."""

    user_data: Blob | None = None
    meta_data: Blob | None = None
    network_config: Blob | None = None

    @classmethod
    def of(cls, spec: Mapping[str, Any] | None) -> CloudInitSpec | None:
        if spec is None:
            return None
        return cls(*(value if isinstance(value := spec.get(key), Blob) else None
                     for key in ("user_data", "meta_data", "network_config")))


def indexed_nics(spec: Mapping[str, Any]) -> list[tuple[int, NicSpec]]:
    """The NICs of a guest's or container's spec with their index in the list: a live
    object's empty slot (None) keeps its index, where ``networks`` drops it. For code
    that writes NIC N to the hypervisor's slot N."""
    return [(index, NicSpec.of(nic)) for index, nic in enumerate(spec.get("networks") or [])
            if isinstance(nic, Mapping)]


def _items(spec: Mapping[str, Any], key: str) -> Sequence[Mapping[str, Any]]:
    """A list of mappings; None entries (a slot a live object reports empty) dropped."""
    return [item for item in spec.get(key) or () if isinstance(item, Mapping)]


@dataclass(frozen=True)
class GuestSpec(_WithOptions):
    """A virtual machine (``guests:``)."""

    cpus: int = 1
    memory: int = 0
    image: str | None = None
    clone: str | None = None
    node: str | None = None
    disks: tuple[DiskSpec, ...] = ()
    networks: tuple[NicSpec, ...] = ()
    cloud_init: CloudInitSpec | None = None
    power: str = "running"
    autostart: bool = False
    indexed_networks: tuple[tuple[int, NicSpec], ...] = ()
    """The NICs with their index in the spec's list (``indexed_nics``): a live object's
    empty slot keeps its index, where ``networks`` drops it. NIC N is written to slot N."""
    indexed_disks: tuple[tuple[int, DiskSpec], ...] = ()
    """The disks with their index in the spec's list, as ``indexed_networks``."""

    @property
    def running(self) -> bool:
        """Whether the stack wants it running."""
        return self.power == "running"

    @property
    def own_disks(self) -> tuple[DiskSpec, ...]:
        """The disks that are the guest's own (not attached volumes)."""
        return tuple(disk for disk in self.disks if not disk.attached)

    @classmethod
    def of(cls, spec: Mapping[str, Any]) -> GuestSpec:
        disks = tuple((index, DiskSpec.of(disk))
                      for index, disk in enumerate(spec.get("disks") or [])
                      if isinstance(disk, Mapping))
        networks = tuple(indexed_nics(spec))  # each read once: both forms share them
        return cls(
            cpus=int(_get(spec, "cpus", 1)), memory=int(_get(spec, "memory", 0)),
            image=_maybe_str(spec.get("image")), clone=_maybe_str(spec.get("clone")),
            node=_maybe_str(spec.get("node")),
            disks=tuple(disk for _, disk in disks),
            networks=tuple(nic for _, nic in networks),
            cloud_init=CloudInitSpec.of(spec.get("cloud_init")),
            power=str(_get(spec, "power", "running")), autostart=bool(spec.get("autostart")),
            options=_get(spec, "options", _NO_OPTIONS),
            indexed_networks=networks, indexed_disks=disks)


@dataclass(frozen=True)
class RootfsSpec:
    size: int = 0
    pool: str | None = None


@dataclass(frozen=True)
class MountSpec:
    path: str = ""
    size: int = 0
    pool: str | None = None


@dataclass(frozen=True)
class ContainerSpec(_WithOptions):
    """A system container (``containers:``)."""

    template: str = ""
    cpus: int = 1
    memory: int = 0
    swap: int | None = None
    rootfs: RootfsSpec = field(default_factory=RootfsSpec)
    mounts: tuple[MountSpec, ...] = ()
    networks: tuple[NicSpec, ...] = ()
    node: str | None = None
    power: str = "running"
    autostart: bool = False
    indexed_networks: tuple[tuple[int, NicSpec], ...] = ()
    """The NICs with their index in the spec's list, as ``GuestSpec.indexed_networks``."""
    mount_slots: int = 0
    """How many mount point slots the spec lists, a live object's empty one (None)
    included: mount N is ``mpN``."""

    @property
    def running(self) -> bool:
        return self.power == "running"

    @classmethod
    def of(cls, spec: Mapping[str, Any]) -> ContainerSpec:
        rootfs = spec.get("rootfs") or {}
        return cls(
            template=str(_get(spec, "template", "")), cpus=int(_get(spec, "cpus", 1)),
            memory=int(_get(spec, "memory", 0)), swap=_maybe_int(spec.get("swap")),
            rootfs=RootfsSpec(int(_get(rootfs, "size", 0)), _maybe_str(rootfs.get("pool"))),
            mounts=tuple(MountSpec(str(_get(m, "path", "")), int(_get(m, "size", 0)),
                                   _maybe_str(m.get("pool"))) for m in _items(spec, "mounts")),
            networks=tuple(NicSpec.of(nic) for nic in _items(spec, "networks")),
            node=_maybe_str(spec.get("node")), power=str(_get(spec, "power", "running")),
            autostart=bool(spec.get("autostart")), options=_get(spec, "options", _NO_OPTIONS),
            indexed_networks=tuple(indexed_nics(spec)),
            mount_slots=len(spec.get("mounts") or []))


@dataclass(frozen=True)
class DhcpRangeSpec:
    start: str
    end: str


@dataclass(frozen=True)
class NetworkSpec(_WithOptions):
    """A virtual network (``networks:``)."""

    mode: str = "nat"
    cidr: str | None = None
    dhcp: bool = True
    dhcp_range: DhcpRangeSpec | None = None
    bridge: str | None = None
    domain: str | None = None

    @classmethod
    def of(cls, spec: Mapping[str, Any]) -> NetworkSpec:
        span = spec.get("dhcp_range")
        return cls(
            mode=str(_get(spec, "mode", "nat")), cidr=_maybe_str(spec.get("cidr")),
            dhcp=bool(_get(spec, "dhcp", True)),
            dhcp_range=None if not span else DhcpRangeSpec(str(span["start"]), str(span["end"])),
            bridge=_maybe_str(spec.get("bridge")), domain=_maybe_str(spec.get("domain")),
            options=_get(spec, "options", _NO_OPTIONS))


@dataclass(frozen=True)
class VolumeSpec(_WithOptions):
    """A disk image that outlives guests (``volumes:``)."""

    size: int = 0
    pool: str | None = None
    format: str = "qcow2"

    @classmethod
    def of(cls, spec: Mapping[str, Any]) -> VolumeSpec:
        return cls(size=int(_get(spec, "size", 0)), pool=_maybe_str(spec.get("pool")),
                   format=str(_get(spec, "format", "qcow2")),
                   options=_get(spec, "options", _NO_OPTIONS))


@dataclass(frozen=True)
class ImageSpec(_WithOptions):
    """An image imported into a provider's storage (``images:``): what it is, once the
    plan has read it (checksum and format are None before)."""

    checksum: str | None = None
    format: str | None = None
    pool: str | None = None

    @classmethod
    def of(cls, spec: Mapping[str, Any]) -> ImageSpec:
        return cls(checksum=_maybe_str(spec.get("checksum")),
                   format=_maybe_str(spec.get("format")), pool=_maybe_str(spec.get("pool")),
                   options=_get(spec, "options", _NO_OPTIONS))


@dataclass(frozen=True)
class PoolSpec(_WithOptions):
    """A storage pool (``pools:``): a directory of disk images on the host."""

    type: str = "dir"
    path: str = ""

    @classmethod
    def of(cls, spec: Mapping[str, Any]) -> PoolSpec:
        return cls(type=str(_get(spec, "type", "dir")), path=str(_get(spec, "path", "")),
                   options=_get(spec, "options", _NO_OPTIONS))
