"""Ownership on libvirt objects: the marker's carrier (a metadata element), volume and
pool names.

Domains and networks carry the marker (``kit/marker.py``) as
``<prov:owner stack=".." provider=".." address="..">`` in their ``<metadata>``,
with the applied spec as JSON inside (for what libvirt cannot report: the base
image, cloud-init digests, options). A tag without ``provider`` (written before
tags named the block) belongs to every block of its stack. Volumes
and pools have no metadata, so their name is the tag:

- ``STACK.PROVIDER__NAME.qcow2`` (``.img`` for raw): a ``volumes:`` entry;
- ``STACK.PROVIDER__GUEST__diskN.qcow2``: a guest's own disk N;
- ``STACK.PROVIDER__GUEST__seed.iso``: a guest's cloud-init seed;
- ``STACK.PROVIDER__NAME__image.qcow2`` (``.img``, ``.iso``, ``.vmdk``): an imported
  image, and ``STACK.PROVIDER__NAME__image.sha256-HEX``: its empty mark, made once
  the upload is complete; it names the content (see images.py);
- pool ``STACK.PROVIDER__NAME``: a ``pools:`` entry.

``PROVIDER`` is the provider block, so two blocks of one stack on one host
never take each other's volumes. Stack, provider and resource names are DNS
labels (no ``.``, no ``__``), so names parse back without ambiguity.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from provisioner.core.address import Address, Kind
from provisioner.core.resources import address_name
from provisioner.providers.kit import ownership as kit
from provisioner.providers.kit.marker import Marker, dump_memo, load_memo

OWNER_NS = "https://provisioner.dev/xmlns/owner/1"
OWNER_PREFIX = "prov"
OWNER_KEY = f"{{{OWNER_NS}}}owner"
SPEC_KEY = f"{{{OWNER_NS}}}spec"
PROTECTED = "prevent_destroy"
"""The tag's attribute that keeps the stack's prevent_destroy (plan/protection.py)."""
FORMAT_SUFFIX = {"qcow2": ".qcow2", "raw": ".img"}
IMAGE_SUFFIX = {"qcow2": ".qcow2", "raw": ".img", "iso": ".iso", "vmdk": ".vmdk"}
_VOLUME_RE = re.compile(
    r"^(?P<owner>[a-z0-9-]+\.[a-z0-9-]+)__(?P<object>[a-z0-9.-]+?)"
    r"(?:__disk(?P<disk>\d+)(?P<suffix>\.qcow2|\.img)|(?P<seed>__seed\.iso)"
    r"|__image(?P<image>\.qcow2|\.img|\.iso|\.vmdk)"
    r"|__image\.(?P<algorithm>sha256|sha512)-(?P<digest>[0-9a-f]{64}|[0-9a-f]{128})"
    r"|(?P<own>\.qcow2|\.img))$"
)
_POOL_RE = re.compile(r"^(?P<owner>[a-z0-9-]+\.[a-z0-9-]+)__(?P<object>[a-z0-9.-]+)$")

ET.register_namespace(OWNER_PREFIX, OWNER_NS)


@dataclass(frozen=True)
class Ownership(kit.Ownership):
    """One provider block of one stack: writes its tags and recognises its objects."""

    def tag(self, address: Address, spec: Mapping[str, Any], *, namespaced: bool = True,
            protected: bool = False) -> str:
        """The ``<metadata>`` child that tags an object; ``spec`` is kept as JSON,
        ``protected`` (the stack's prevent_destroy) as an attribute.

        ``namespaced=False`` gives the bare element ``virDomainSetMetadata``
        wants (it adds the namespace itself)."""
        owner_key, spec_key = (OWNER_KEY, SPEC_KEY) if namespaced else ("owner", "spec")
        owner = ET.Element(owner_key, {"stack": self.stack, "provider": self.provider,
                                       "address": str(address)})
        if protected:
            owner.set(PROTECTED, "true")
        ET.SubElement(owner, spec_key).text = dump_memo(spec)
        return ET.tostring(owner, encoding="unicode")

    def require_own(self, root: ET.Element, address: Address, noun: str) -> None:
        """Refuse (ProviderError) an object not tagged exactly ``address`` of this block:
        a create that finds the name taken never takes over someone else's object."""
        tag = parse_owner(root)
        if not self.owns_at(tag, address):
            whose = kit.UNTAGGED if tag is None else f"{tag.address} of stack {tag.stack}"
            raise kit.name_taken(str(address), noun, root.findtext("name") or "?", whose)

    @property
    def prefix(self) -> str:
        """What starts the names of this block's volumes and pools: ``STACK.PROVIDER``."""
        return f"{self.stack}.{self.provider}"

    def pool_name(self, object_name: str) -> str:
        """The libvirt name of a ``pools:`` entry."""
        return f"{self.prefix}__{object_name}"

    def volume_name(self, object_name: str, fmt: str = "qcow2") -> str:
        """The libvirt name of a ``volumes:`` entry."""
        return f"{self.prefix}__{object_name}{FORMAT_SUFFIX[fmt]}"

    def image_name(self, object_name: str, fmt: str) -> str:
        """The libvirt name of an imported image's volume."""
        return str(VolumeName(self.prefix, object_name, None, fmt, image=True))

    def image_mark(self, object_name: str, checksum: str) -> str:
        """The libvirt name of the empty volume that marks an image as complete."""
        return str(VolumeName(self.prefix, object_name, None, "raw", image=True,
                              checksum=checksum))

    def parse_pool(self, name: str) -> str | None:
        """The object name of one of this block's pools, else None."""
        match = _POOL_RE.match(name)
        return match.group("object") if match and match.group("owner") == self.prefix else None

    def pool_address(self, name: str) -> Address | None:
        object_name = self.parse_pool(name)
        return None if object_name is None else Address(Kind.POOL, address_name(object_name))


def protected_mark(root: ET.Element) -> bool:
    """Whether the tag of a domain or network XML root keeps prevent_destroy."""
    owner = root.find(f"metadata/{OWNER_KEY}")
    return owner is not None and owner.get(PROTECTED) == "true"


def parse_owner(root: ET.Element) -> Marker | None:
    """The marker of a domain or network XML root, or None when untagged."""
    owner = root.find(f"metadata/{OWNER_KEY}")
    if owner is None:
        return None
    try:
        address = Address.parse(owner.get("address", ""))
    except ValueError:
        return None
    return Marker(owner.get("stack", ""), owner.get("provider") or None, address,
                  load_memo(owner.findtext(SPEC_KEY)))


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
    image: bool = False
    """An imported image's volume (``format`` its format) or, with ``checksum``, its mark."""
    checksum: str | None = None

    def __str__(self) -> str:
        if self.checksum is not None:
            return f"{self.owner}__{self.object}__image.{self.checksum.replace(':', '-')}"
        if self.image:
            return f"{self.owner}__{self.object}__image{IMAGE_SUFFIX[self.format]}"
        if self.seed:
            return f"{self.owner}__{self.object}__seed.iso"
        disk = "" if self.disk is None else f"__disk{self.disk}"
        return f"{self.owner}__{self.object}{disk}{FORMAT_SUFFIX[self.format]}"

    @property
    def owned_by_guest(self) -> bool:
        return self.seed or self.disk is not None

    @property
    def is_volume(self) -> bool:
        """A ``volumes:`` entry (not a guest's disk or seed, not an image)."""
        return not (self.owned_by_guest or self.image)


def parse_volume_name(name: str) -> VolumeName | None:
    match = _VOLUME_RE.match(name)
    if match is None:
        return None
    if match.group("seed"):
        return VolumeName(match.group("owner"), match.group("object"), None, "raw", seed=True)
    if match.group("image"):
        fmt = next(f for f, suffix in IMAGE_SUFFIX.items() if suffix == match.group("image"))
        return VolumeName(match.group("owner"), match.group("object"), None, fmt, image=True)
    if match.group("digest"):
        checksum = f"{match.group('algorithm')}:{match.group('digest')}"
        return VolumeName(match.group("owner"), match.group("object"), None, "raw",
                          image=True, checksum=checksum)
    suffix = match.group("suffix") or match.group("own")
    disk = match.group("disk")
    return VolumeName(match.group("owner"), match.group("object"),
                      None if disk is None else int(disk),
                      "qcow2" if suffix == ".qcow2" else "raw")
