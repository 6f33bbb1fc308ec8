"""Reading the XML libvirt gives back, when it may not be XML.

libvirt formats some values without escaping them (a network's ``<domain
name='%s'>``, a domain's ``machine='%s'``), so an object defined with a quote there,
by hand or by another tool, comes back as text no XML parser reads. One such object
must not stop every plan on the host: an object of another stack (or of nobody) is
left out of the listing with a warning; one of this provider block's is reported
by name, since a plan cannot say what to change in an object it cannot read.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET

from provisioner.core.address import Address
from provisioner.errors import ProviderError
from provisioner.providers.kit.marker import Marker
from provisioner.providers.libvirt.ownership import Ownership
from provisioner.stack.host_text import terminal_safe

_OWNER_TAG_RE = re.compile(r"<(?:[A-Za-z_][\w.-]*:)?owner\b([^>]*)>")
_ATTRIBUTE_RE = re.compile(r"""([A-Za-z_][\w.-]*)=(['"])([^'"<>]*)\2""")
_COMMANDS = {"network": "virsh net-edit", "domain": "virsh edit"}


def parse_listed(text: str, noun: str, name: str, owner: Ownership,
                 warnings: list[str]) -> ET.Element | None:
    """The XML root of a listed object; None (and a warning) for one that is not this
    block's and cannot be parsed; raises ProviderError for one of this block's that
    cannot be parsed."""
    try:
        return ET.fromstring(text)
    except ET.ParseError as exc:
        problem = str(exc)
    name = terminal_safe(name)  # another tool's name, printed to a terminal
    if owner.owns(_marker_in_text(text)):
        raise ProviderError(
            f"the libvirt {noun} '{name}' of this stack cannot be read: libvirt gives back "
            f"XML that does not parse ({problem})",
            hint=f"repair its definition with `{_COMMANDS.get(noun, 'virsh')} {name}` (a "
                 "value with a quote is the usual cause), then plan again")
    warnings.append(f"the libvirt {noun} '{name}' (not this stack's) was left out: libvirt "
                    f"gives back XML that does not parse ({problem}); address ranges, MACs "
                    "and names it holds are not checked against")
    return None


def _marker_in_text(text: str) -> Marker | None:
    """The ownership tag of unparsable XML, from its text: provisioner writes the tag
    with ElementTree, and stack and block names hold no quotes, so the tag itself reads
    back even where another value broke the document."""
    match = _OWNER_TAG_RE.search(text)
    if match is None:
        return None
    attributes = {key: value for key, _, value in _ATTRIBUTE_RE.findall(match.group(1))}
    if "stack" not in attributes:
        return None
    try:
        address = Address.parse(attributes.get("address", ""))
    except ValueError:
        return None
    return Marker(attributes["stack"], attributes.get("provider") or None, address, {})
