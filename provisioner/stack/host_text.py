"""Free text that reaches a hypervisor: what each field may hold, checked at plan time.

A stack's free-text values end up in libvirt XML, Proxmox parameters, vSphere specs
and QEMU command lines. provisioner builds its own XML with ElementTree, which
escapes everything, but libvirt does not always: its network formatter writes
``<domain name='%s'>`` and its domain formatter ``machine='%s'`` without escaping,
so a quote in either is stored as broken XML (every later read fails) or as extra
elements an attacker chose. So these values are refused before any call, at the
line that sets them, rather than escaped: DNS domains are DNS names, interface and
machine names are short plain words, and no text anywhere holds a control
character. Each type says in the JSON Schema what an editor should accept.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable
from typing import Annotated

from pydantic import AfterValidator, WithJsonSchema
from pydantic_core import PydanticCustomError

_LABEL = r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
DNS_NAME_RE = re.compile(rf"^{_LABEL}(?:\.{_LABEL})*$")
INTERFACE_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,14}$")
"""A Linux interface name: at most 15 bytes (IFNAMSIZ), no '/', ':', space or quote."""
WORD_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.:+-]{0,63}$")
"""A machine type, NIC model, disk slot: letters, digits and ``_.:+-``."""
_REFUSED_IN_TEXT = frozenset("'\"<>&")


def shown(value: str, limit: int = 60) -> str:
    """``value`` quoted for a message: control and invisible formatting characters
    escaped (a value never moves the cursor or recolours the terminal), cut at
    ``limit`` characters."""
    text = "".join(_escaped(char) for char in value[:limit])
    return f"'{text}'" + ("..." if len(value) > limit else "")


def _escaped(char: str) -> str:
    if unicodedata.category(char) in ("Cc", "Cf", "Zl", "Zp"):
        code = ord(char)
        return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"
    return char


def terminal_safe(text: str) -> str:
    """``text`` with its control characters escaped, line breaks and tabs kept."""
    return "".join(char if char in "\n\t" else _escaped(char) for char in text)


def control_characters(value: str) -> list[str]:
    """The control (and invisible formatting) characters of ``value``, escaped."""
    return sorted({_escaped(char) for char in value if _escaped(char) != char})


def _refuse(reason: str, hint: str) -> PydanticCustomError:
    return PydanticCustomError("value_error", "{reason}", {"reason": reason, "hint": hint})


def _matching(pattern: re.Pattern[str], what: str, hint: str,
              limit: int | None = None) -> Callable[[str], str]:
    def check(value: str) -> str:
        if not pattern.match(value) or (limit is not None and len(value) > limit):
            raise _refuse(f"{shown(value)} is not {what}", hint)
        return value
    return check


def _plain_text(value: str) -> str:
    controls = control_characters(value)
    if controls:
        raise _refuse(f"{shown(value)} holds control characters ({', '.join(controls)})",
                      "write the value on one line, with printable characters only")
    return value


def _attribute_text(value: str) -> str:
    _plain_text(value)
    quotes = sorted(_REFUSED_IN_TEXT & set(value))
    if quotes:
        raise _refuse(f"{shown(value)} holds {' '.join(quotes)}, which this name cannot hold",
                      "use letters, digits, spaces and - _ . / : @ + only")
    return value


DnsDomain = Annotated[
    str, AfterValidator(_matching(DNS_NAME_RE, "a DNS domain name",
                                  "labels of letters, digits and '-' joined by dots, such "
                                  "as lab.example", limit=253)),
    WithJsonSchema({"type": "string", "pattern": DNS_NAME_RE.pattern, "maxLength": 253,
                    "description": "a DNS domain, such as lab.example"}),
]
InterfaceName = Annotated[
    str, AfterValidator(_matching(INTERFACE_RE, "a host interface name",
                                  "at most 15 letters, digits and _ . -, such as br0")),
    WithJsonSchema({"type": "string", "pattern": INTERFACE_RE.pattern,
                    "description": "a host interface, such as br0"}),
]


def _word(what: str, example: str) -> AfterValidator:
    return AfterValidator(_matching(WORD_RE, what, "at most 64 letters, digits and "
                                                   f"_ . : + -, such as {example}"))


_WORD_SCHEMA = WithJsonSchema({"type": "string", "pattern": WORD_RE.pattern})
Word = Annotated[str, _word("a valid value here", "virtio"), _WORD_SCHEMA]
"""One short word, as hypervisors name their models and types."""
MachineType = Annotated[str, _word("a machine type", "q35 or pc-i440fx-7.2"), _WORD_SCHEMA]
NicModel = Annotated[str, _word("a NIC model", "virtio or e1000"), _WORD_SCHEMA]
DiskSlot = Annotated[str, _word("a disk slot", "vdb (libvirt) or scsi1 (Proxmox)"),
                     _WORD_SCHEMA]
HostName = Annotated[
    str, AfterValidator(_attribute_text),
    WithJsonSchema({"type": "string", "pattern": r"^[^'\"<>&\u0000-\u001f\u007f]*$"}),
]
"""Names of things a host already has (host networks, port groups, pools, images):
any printable text without quotes or XML markup characters (``VM Network`` is fine)."""


def _note_text(value: str) -> str:
    controls = control_characters(value.replace("\n", "").replace("\t", ""))
    if controls:
        raise _refuse(f"{shown(value)} holds control characters ({', '.join(controls)})",
                      "write printable text; line breaks and tabs are fine")
    return value


NoteText = Annotated[
    str, AfterValidator(_note_text),
    WithJsonSchema({"type": "string", "pattern": r"^[^\u0000-\u0008\u000b-\u001f\u007f]*$"}),
]
"""Notes and descriptions: printable text over several lines (XML 1.0, which XAPI's
XML-RPC and vSphere's SOAP carry, cannot hold other control characters at all)."""
PlainText = Annotated[
    str, AfterValidator(_plain_text),
    WithJsonSchema({"type": "string", "pattern": r"^[^\u0000-\u001f\u007f]*$"}),
]
"""Text such as a kernel command line: printable characters, on one line."""
