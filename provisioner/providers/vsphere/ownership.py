"""Ownership on vSphere VMs: a custom attribute on vCenter, the annotation on ESXi.

The tag is the marker (``kit/marker.py``): one compact JSON document naming the
stack, the provider block and the address, with a memo (under ``memo``) of what
vSphere cannot report back (the template a
guest was cloned from, the labels and digests of its cloud-init data, how
its disks were provisioned):

- on vCenter it is the value of the custom attribute ``provisioner`` (the
  block's ``attribute``); the VM's notes stay the user's;
- a standalone ESXi host has no custom attributes, so it is the last line of
  the annotation, after the user's notes: ``provisioner:v1 {...}``.

A create writes ``provisioner.creating`` into the VM's extraConfig in the very
task that makes the VM, and clears it once the VM is complete: a VM that
still carries it is what an interrupted create left (a leftover), even when
the interruption came before the custom attribute was set.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from provisioner.core.address import Address
from provisioner.providers.kit import ownership as kit
from provisioner.providers.kit.marker import Marker, MarkerCodec

CREATING_KEY = "provisioner.creating"
ANNOTATION_PREFIX = "provisioner:v1 "
_ANNOTATION_RE = re.compile(r"(?:\A|\n)provisioner:v1 (\{[^\n]*\})\s*\Z")
CODEC = MarkerCodec("memo", escaped="<>")
"""No newline; ``<`` and ``>`` escaped so that notes quoting the tag are harmless in any
UI that renders HTML."""
encode = CODEC.encode
decode = CODEC.decode


def with_annotation(notes: str, marker: Marker | None) -> str:
    """An annotation: the user's notes, then the marker line (ESXi)."""
    if marker is None:
        return notes
    line = ANNOTATION_PREFIX + encode(marker)
    return f"{notes.rstrip()}\n\n{line}" if notes.strip() else line


def split_annotation(annotation: Any) -> tuple[str, Marker | None]:
    """(the user's notes, the marker) of an annotation."""
    text = str(annotation or "")
    match = _ANNOTATION_RE.search(text)
    if match is None:
        return text, None
    return text[:match.start()].rstrip(), decode(match.group(1))


def custom_value(values: Any, key: int | None) -> str | None:
    """The value of custom attribute ``key`` among a VM's ``customValue``. The last
    one wins (the simulator appends where vCenter replaces)."""
    if key is None:
        return None
    found = None
    for value in values or ():
        if int(getattr(value, "key", -1)) == key:
            found = str(getattr(value, "value", "") or "")
    return found or None


def extra_config(options: Any) -> dict[str, str]:
    """A VM's extraConfig as a mapping; the last value of a key wins and an empty
    value means removed (vSphere removes a key set to "", the simulator keeps it)."""
    found: dict[str, str] = {}
    for option in options or ():
        found[str(option.key)] = str(option.value if option.value is not None else "")
    return {key: value for key, value in found.items() if value != ""}


@dataclass(frozen=True)
class Ownership(kit.Ownership):
    """One provider block of one stack: recognises its VMs and other owners'."""

    def creating(self, address: Address) -> str:
        """The value of CREATING_KEY for a create of ``address``."""
        return encode(self.marker(address))
