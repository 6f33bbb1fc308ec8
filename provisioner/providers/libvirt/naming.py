"""Ownership on libvirt objects: the metadata element, volume and pool names.

Domains and networks carry ``<prov:owner stack=".." provider=".." address="..">``
in their ``<metadata>``, with the applied spec as JSON inside (for what
libvirt cannot report: the base image, cloud-init digests, options). Volumes
and pools have no metadata, so their name is the tag:

- ``STACK.PROVIDER__NAME.qcow2`` (``.img`` for raw): a ``volumes:`` entry;
- ``STACK.PROVIDER__GUEST__diskN.qcow2``: a guest's own disk N;
- ``STACK.PROVIDER__GUEST__seed.iso``: a guest's cloud-init seed;
- pool ``STACK.PROVIDER__NAME``: a ``pools:`` entry.

``PROVIDER`` is the provider block, so two blocks of one stack on one host
never take each other's volumes. Stack, provider and resource names are DNS
labels (no ``.``, no ``__``), so names parse back without ambiguity.
"""

from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from provisioner.core.address import Address, Kind
from provisioner.core.resources import address_name, loads_plain, to_plain
from provisioner.errors import ProviderError

OWNER_NS = "https://provisioner.dev/xmlns/owner/1"
OWNER_PREFIX = "prov"
OWNER_KEY = f"{{{OWNER_NS}}}owner"
SPEC_KEY = f"{{{OWNER_NS}}}spec"
FORMAT_SUFFIX = {"qcow2": ".qcow2", "raw": ".img"}
_VOLUME_RE = re.compile(
    r"^(?P<owner>[a-z0-9-]+\.[a-z0-9-]+)__(?P<object>[a-z0-9.-]+?)"
    r"(?:__disk(?P<disk>\d+)(?P<suffix>\.qcow2|\.img)|(?P<seed>__seed\.iso)|(?P<own>\.qcow2|\.img))$"
)
_POOL_RE = re.compile(r"^(?P<owner>[a-z0-9-]+\.[a-z0-9-]+)__(?P<object>[a-z0-9.-]+)$")

ET.register_namespace(OWNER_PREFIX, OWNER_NS)


@dataclass(frozen=True)
class OwnerTag:
    """What the metadata element says: which stack, provider and address own it."""

    stack: str
    address: Address
    spec: Mapping[str, Any]
    provider: str = ""
    """The provider block that made it (empty in tags written without it)."""


@dataclass(frozen=True)
class Ownership:
    """One provider block of one stack: writes its tags and recognises its objects."""

    stack: str
    provider: str

    def tag(self, address: Address, spec: Mapping[str, Any], *, namespaced: bool = True) -> str:
        """The ``<metadata>`` child that tags an object; ``spec`` is kept as JSON.

        ``namespaced=False`` gives the bare element ``virDomainSetMetadata``
        wants (it adds the namespace itself)."""
        owner_key, spec_key = (OWNER_KEY, SPEC_KEY) if namespaced else ("owner", "spec")
        owner = ET.Element(owner_key, {"stack": self.stack, "provider": self.provider,
                                       "address": str(address)})
        ET.SubElement(owner, spec_key).text = json.dumps(
            to_plain(spec), sort_keys=True, separators=(",", ":"))
        return ET.tostring(owner, encoding="unicode")

    def owns(self, tag: OwnerTag | None) -> bool:
        """Whether this provider block manages the object. Another block of the same
        stack on the same host manages its own objects, which are not foreign either."""
        return tag is not None and tag.stack == self.stack and tag.provider in ("", self.provider)

    def stranger(self, tag: OwnerTag | None) -> str | None:
        """Who owns an object that is not ours, for collision errors; None if it is
        ours or another block of this stack's."""
        if tag is None:
            return "untagged"
        return None if tag.stack == self.stack else f"stack {tag.stack}"

    def require_own(self, root: ET.Element, address: Address, noun: str) -> None:
        """Refuse (ProviderError) an object not tagged exactly ``address`` of this block:
        a create that finds the name taken never takes over someone else's object."""
        tag = parse_owner(root)
        if not self.owns(tag) or tag is None or tag.address != address:
            owner = "untagged" if tag is None else f"{tag.address} of stack {tag.stack}"
            name = root.findtext("name") or "?"
            raise ProviderError(
                f"{address}: a {noun} named '{name}' already exists ({owner})",
                hint=f"rename the {noun} in the stack, or remove or rename that one")

    @property
    def prefix(self) -> str:
        """What starts the names of this block's volumes and pools: ``STACK.PROVIDER``."""
        return f"{self.stack}.{self.provider}"

    def of_stack(self, owner: str) -> bool:
        """Whether a name's ``STACK.PROVIDER`` part is this stack's (any block)."""
        return owner.split(".", 1)[0] == self.stack

    def pool_name(self, object_name: str) -> str:
        """The libvirt name of a ``pools:`` entry."""
        return f"{self.prefix}__{object_name}"

    def volume_name(self, object_name: str, fmt: str = "qcow2") -> str:
        """The libvirt name of a ``volumes:`` entry."""
        return f"{self.prefix}__{object_name}{FORMAT_SUFFIX[fmt]}"

    def parse_pool(self, name: str) -> str | None:
        """The object name of one of this block's pools, else None."""
        match = _POOL_RE.match(name)
        return match.group("object") if match and match.group("owner") == self.prefix else None

    def pool_address(self, name: str) -> Address | None:
        object_name = self.parse_pool(name)
        return None if object_name is None else Address(Kind.POOL, address_name(object_name))


def parse_owner(root: ET.Element) -> OwnerTag | None:
    """The owner tag of a domain or network XML root, or None when untagged."""
    owner = root.find(f"metadata/{OWNER_KEY}")
    if owner is None:
        return None
    try:
        address = Address.parse(owner.get("address", ""))
    except ValueError:
        return None
    try:
        spec = loads_plain(owner.findtext(SPEC_KEY) or "{}")
    except json.JSONDecodeError:
        spec = {}
    return OwnerTag(owner.get("stack", ""), address, spec if isinstance(spec, dict) else {},
                    owner.get("provider", ""))


@dataclass(frozen=True)
class VolumeName:
    """A volume name that carries its owner: a ``volumes:`` entry (no disk, not seed),
    a guest's own disk N, or a guest's cloud-init seed."""

    owner: str
    """``STACK.PROVIDER`` (Ownership.prefix)."""
    object: str
    disk: int | None
    format: str
    seed: bool = False

    def __str__(self) -> str:
        if self.seed:
            return f"{self.owner}__{self.object}__seed.iso"
        disk = "" if self.disk is None else f"__disk{self.disk}"
        return f"{self.owner}__{self.object}{disk}{FORMAT_SUFFIX[self.format]}"

    @property
    def owned_by_guest(self) -> bool:
        return self.seed or self.disk is not None


def parse_volume_name(name: str) -> VolumeName | None:
    match = _VOLUME_RE.match(name)
    if match is None:
        return None
    if match.group("seed"):
        return VolumeName(match.group("owner"), match.group("object"), None, "raw", seed=True)
    suffix = match.group("suffix") or match.group("own")
    disk = match.group("disk")
    return VolumeName(match.group("owner"), match.group("object"),
                      None if disk is None else int(disk),
                      "qcow2" if suffix == ".qcow2" else "raw")
