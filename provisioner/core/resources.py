"""What the engine passes around: desired resources, live objects, content blobs.

A ``Resource`` is one declared object after resolution (count expanded,
variables substituted, files read); its ``spec`` is a plain mapping in the
canonical shape every provider reads and reports. A ``LiveObject`` is what a
provider found on the hypervisor, in the same shape, so the planner can diff
the two without knowing any hypervisor.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from provisioner.core.address import Address, Kind
from provisioner.core.digests import (
    KEYED_PREFIX,
    is_digest,
    keyed_digest,
    plain_digest,
    same_content,
)
from provisioner.errors import Position


@dataclass(frozen=True, eq=False)
class Blob:
    """File or inline content compared by digest; the content itself is never shown or stored.

    cloud-init user-data may hold passwords: plans print the label and a short
    digest, state keeps the digest, only the provider reads ``content``. The digest
    of the stack's content is keyed under the state's key once a state is open
    (``keyed``, ``core/digests.py``), so a stored digest confirms no guess.
    """

    label: str
    digest: str
    content: bytes = field(repr=False)
    plain: str = field(default="", repr=False)
    """The content's unkeyed digest when ``digest`` is keyed: compared with digests
    stored before digests were keyed; never stored itself."""

    @classmethod
    def of(cls, label: str, content: bytes) -> Blob:
        return cls(label, plain_digest(content), content)

    @property
    def content_digest(self) -> str:
        """The unkeyed digest of the content, for what must not change with the key
        (cloud-init's instance id) or checks that the content is loaded."""
        return self.plain or self.digest

    def keyed(self, key: bytes) -> Blob:
        """The same content under a digest keyed with ``key``; a blob read back (no
        content, or keyed already) as it is."""
        if self.plain or self.digest != plain_digest(self.content):
            return self
        return Blob(self.label, keyed_digest(key, self.content), self.content, self.digest)

    def __eq__(self, other: object) -> bool:
        if isinstance(other, Blob):
            theirs = other.digest
        elif isinstance(other, str):
            theirs = other
        else:
            return NotImplemented
        if same_content(self.digest, self.plain, theirs):
            return True
        return isinstance(other, Blob) and bool(other.plain) and same_content(
            other.digest, other.plain, self.digest)

    def __hash__(self) -> int:
        return hash(Blob)  # equal blobs may differ in digest and label (core/digests.py)

    def __repr__(self) -> str:
        return f"{self.label} ({self.digest.removeprefix(KEYED_PREFIX)[:15]})"


class Effect(StrEnum):
    """What changing a field does to the live object. Order: mildest first."""

    IN_PLACE = "in place"
    RESTART = "requires restart"
    REPLACE = "forces replacement"

    @property
    def severity(self) -> int:
        return list(Effect).index(self)


PROTECTION_MARK = "prevent_destroy"
"""The live attribute in which a provider that keeps prevent_destroy on the hypervisor
reports it (True or False on every object it can mark; absent: it keeps none). See
plan/protection.py."""
PROTECTION_PATH = "lifecycle.prevent_destroy"
"""The field a plan names when that mark moves (an in-place change of the marker)."""


@dataclass(frozen=True)
class Protection:
    """How the planner may treat a resource (its declaration's ``lifecycle:``)."""

    prevent_destroy: bool = False
    """Refuse any plan that would delete or replace it."""
    ignore_changes: tuple[str, ...] = ()
    """Field paths never diffed (``memory``, ``disks[0].size``)."""
    create_before_destroy: bool = False
    """On replacement, make the new object before deleting the old one."""


@dataclass(frozen=True)
class Resource:
    """One declared resource, resolved: the desired state of one hypervisor object."""

    address: Address
    provider: str
    spec: Mapping[str, Any]
    deps: tuple[Address, ...] = ()
    lifecycle: Protection = field(default_factory=Protection)
    position: Position | None = None
    order: int = 0
    effect_overrides: Mapping[str, Effect | None] = field(default_factory=dict)
    """Per-resource field effects (cloud_init.on_change); None means never diff."""
    object_name: str = ""
    """The name to give the object on the hypervisor; the address's name unless a
    create-before-destroy replacement needs a second name while the old one lives."""
    references: Mapping[str, Address] = field(default_factory=dict)
    """Spec paths that name another resource (``networks[0].network`` →
    ``networks.lab``): the fields that change when that resource is replaced."""
    settings: Mapping[str, Any] = field(default_factory=dict)
    """How changes are carried out (``wait_for``, ``wait_timeout``, ``placement``);
    never diffed."""
    placement: str = ""
    """Where placement put it and why (``placed on pve2 (spread: ...)``), for the plan."""
    placed_before: bool = False
    """Placement left it where an earlier plan placed it (``stays on pve2``): nothing
    was chosen anew, so a plan that does not create it does not repeat where it is."""
    dep_names: Mapping[Address, str] = field(default_factory=dict)
    """Hypervisor names of the resources it references, as they will be after the
    plan (set by the planner; a dependency may carry its second name)."""

    @property
    def kind(self) -> Kind:
        return self.address.kind

    @property
    def name(self) -> str:
        """The object's name on the hypervisor."""
        return self.object_name or self.address.name

    def name_of(self, dependency: Address) -> str:
        """The hypervisor name of a resource this one references."""
        return self.dep_names.get(dependency, dependency.name)


ALTERNATE_SUFFIX = ".r1"
"""Appended to a name while a create_before_destroy replacement and the object it
replaces both exist; the next such replacement goes back to the plain name."""


def address_name(object_name: str) -> str:
    """The resource name behind a hypervisor object name (drops ALTERNATE_SUFFIX)."""
    return object_name.removesuffix(ALTERNATE_SUFFIX)


@dataclass(frozen=True)
class LiveObject:
    """An object a provider found on a hypervisor, tagged with this stack's ownership."""

    address: Address
    provider: str
    name: str
    id: str
    spec: Mapping[str, Any]
    """Fields the provider can read back, in the Resource.spec shape. A missing key
    means "not readable"; the planner then compares with the last applied value."""
    attributes: Mapping[str, Any] = field(default_factory=dict)
    """Values the hypervisor computes (uuid, MACs, IPs, state), usable in outputs."""
    running: bool | None = None
    deps: tuple[Address, ...] = ()
    marked_as: Address | None = None
    """The address its ownership marker names, when the plan knows the object by
    another (moved, or a module's read by name: plan/module_addresses.py): what a
    provider checks before deleting it is that one."""

    @property
    def kind(self) -> Kind:
        return self.address.kind

    @property
    def marker_address(self) -> Address:
        """The address written in its ownership marker."""
        return self.marked_as or self.address

    def as_resource(self) -> Resource:
        """What it reserves, as a resource (its node from the attributes if the spec
        has none): for accounting what deleting it frees."""
        spec = dict(self.spec)
        if self.attributes.get("node") and not spec.get("node"):
            spec["node"] = self.attributes["node"]
        return Resource(self.address, self.provider, spec)

    def fingerprint(self) -> str:
        """A digest of everything read, to detect that the object changed since a plan."""
        document = {"id": self.id, "name": self.name, "spec": self.spec, "running": self.running}
        text = json.dumps(to_plain(document), sort_keys=True, default=str)
        return "sha256:" + hashlib.sha256(text.encode()).hexdigest()


_PLAIN = frozenset({str, int, float, bool, type(None)})
"""Types returned as they are; tested by type first because a plan converts every
leaf of every spec, and the ``Mapping`` ABC check is slow (a third of a
10,000-guest plan's planning time went to it)."""


def to_plain(value: Any) -> Any:
    """JSON-ready copy of a spec: blobs become their digest, ``Bytes`` plain ints."""
    if type(value) in _PLAIN:
        return value
    if type(value) is dict:
        return {str(key): to_plain(item) for key, item in value.items()}
    if isinstance(value, Blob):
        return {"label": value.label, "digest": value.digest}
    if isinstance(value, Mapping):
        return {str(key): to_plain(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [to_plain(item) for item in value]
    if isinstance(value, bool | str | float) or value is None:
        return value
    if isinstance(value, int):
        return int(value)
    return str(value)


def from_plain(value: Any) -> Any:
    """Inverse of ``to_plain`` for stored specs: digests become content-less blobs."""
    if type(value) in _PLAIN:
        return value
    if isinstance(value, Mapping):
        if is_stored_blob(value):
            return Blob(str(value["label"]), str(value["digest"]), b"")
        return {key: from_plain(item) for key, item in value.items()}
    if isinstance(value, list):
        return [from_plain(item) for item in value]
    return value


def loads_plain(text: str) -> Any:
    """``from_plain(json.loads(text))`` in one pass: stored blobs are made while the
    JSON is decoded (a 10,000-guest plan decodes an owner tag per guest)."""
    return json.loads(text, object_hook=_blob_or_dict)


def _blob_or_dict(value: dict[str, Any]) -> Any:
    if is_stored_blob(value):
        return Blob(str(value["label"]), str(value["digest"]), b"")
    return value


def is_stored_blob(value: Any) -> bool:
    """Whether ``value`` is a blob as ``to_plain`` stores it ({label, digest})."""
    return ((type(value) is dict or isinstance(value, Mapping)) and len(value) == 2
            and "label" in value
            and "digest" in value and is_digest(str(value["digest"])))
