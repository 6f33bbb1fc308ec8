"""Ownership on libvirt objects: the metadata element and volume names.

Domains and networks carry ``<prov:owner stack=".." address="..">`` in their
``<metadata>``, with the applied spec as JSON inside (for the fields libvirt
cannot report, such as the base image or cloud-init digests). Volumes have no
metadata, so their name is the tag: ``STACK__NAME.qcow2`` for a ``volumes:``
entry and ``STACK__GUEST__diskN.qcow2`` for a guest's own disk. Stack and
resource names never contain ``__`` (they are DNS labels), so names parse
back without ambiguity.
"""

from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from provisioner.errors import ProviderError
from provisioner.resources import from_plain, to_plain
from provisioner.stack.address import Address

OWNER_NS = "https://provisioner.dev/xmlns/owner/1"
OWNER_PREFIX = "prov"
OWNER_KEY = f"{{{OWNER_NS}}}owner"
SPEC_KEY = f"{{{OWNER_NS}}}spec"
FORMAT_SUFFIX = {"qcow2": ".qcow2", "raw": ".img"}
_VOLUME_RE = re.compile(
    r"^(?P<stack>[a-z0-9-]+)__(?P<object>[a-z0-9.-]+?)(?:__disk(?P<disk>\d+))?(?P<suffix>\.qcow2|\.img)$"
)

ET.register_namespace(OWNER_PREFIX, OWNER_NS)


@dataclass(frozen=True)
class OwnerTag:
    """What the metadata element says: which stack and address own the object."""

    stack: str
    address: Address
    spec: Mapping[str, Any]


def owner_xml(
    stack: str, address: Address, spec: Mapping[str, Any], *, namespaced: bool = True
) -> str:
    """The ``<metadata>`` child that tags an object; ``spec`` is stored as JSON.

    ``namespaced=False`` gives the bare element ``virDomainSetMetadata`` wants
    (it adds the namespace itself)."""
    owner_key, spec_key = (OWNER_KEY, SPEC_KEY) if namespaced else ("owner", "spec")
    owner = ET.Element(owner_key, {"stack": stack, "address": str(address)})
    body = ET.SubElement(owner, spec_key)
    body.text = json.dumps(to_plain(spec), sort_keys=True, separators=(",", ":"))
    return ET.tostring(owner, encoding="unicode")


def parse_owner(root: ET.Element) -> OwnerTag | None:
    """The owner tag of a domain or network XML root, or None when untagged."""
    owner = root.find(f"metadata/{OWNER_KEY}")
    if owner is None:
        return None
    try:
        address = Address.parse(owner.get("address", ""))
    except ValueError:
        return None
    spec_text = owner.findtext(SPEC_KEY) or "{}"
    try:
        spec = json.loads(spec_text)
    except json.JSONDecodeError:
        spec = {}
    spec = from_plain(spec) if isinstance(spec, dict) else {}
    return OwnerTag(owner.get("stack", ""), address, spec)


def require_own(root: ET.Element, stack: str, address: Address, noun: str) -> None:
    """Refuse (ProviderError) an object whose tag is not exactly ``address`` of ``stack``:
    a create that finds the name taken must never take over someone else's object."""
    tag = parse_owner(root)
    if tag is None or tag.stack != stack or tag.address != address:
        owner = "untagged" if tag is None else f"{tag.address} of stack {tag.stack}"
        name = root.findtext("name") or "?"
        raise ProviderError(f"{address}: a {noun} named '{name}' already exists ({owner})",
                            hint=f"rename the {noun} in the stack, or remove or rename that one")


@dataclass(frozen=True)
class VolumeName:
    stack: str
    object: str
    disk: int | None
    format: str

    def __str__(self) -> str:
        disk = "" if self.disk is None else f"__disk{self.disk}"
        return f"{self.stack}__{self.object}{disk}{FORMAT_SUFFIX[self.format]}"


def parse_volume_name(name: str) -> VolumeName | None:
    match = _VOLUME_RE.match(name)
    if match is None:
        return None
    disk = match.group("disk")
    fmt = "qcow2" if match.group("suffix") == ".qcow2" else "raw"
    return VolumeName(match.group("stack"), match.group("object"),
                      None if disk is None else int(disk), fmt)
