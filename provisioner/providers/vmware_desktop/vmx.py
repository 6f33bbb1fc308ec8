"""The ``.vmx`` file: VMware's ``key = "value"`` configuration, read and written. Pure.

One entry per line, ``key = "value"``; ``#`` starts a comment line. Keys are
case-insensitive (``memsize`` and ``memSize`` are one key; VMware writes its
own case, which is kept). A value is quoted, and a character that cannot stand
in it is written ``|XX`` (two hex digits of its code): ``|22`` for ``"``,
``|7C`` for ``|`` itself, ``|23`` for ``#``, and control characters (libvirt's
VMX parser reads the same rule). ``.encoding = "UTF-8"`` is written first, so
VMware reads the rest as UTF-8.

A ``Vmx`` keeps every entry it read, in order, with the case it was written in:
editing sets or removes keys, and every key the provider does not own (what a
user set in the VMware GUI, what VMware added at power-on) is written back
unchanged.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping

ENCODING_KEY = ".encoding"
_LINE = re.compile(r'^\s*([^=\s][^=]*?)\s*=\s*(?:"(.*)"|(\S*))\s*$')
_HEX = re.compile(r"\|([0-9A-Fa-f]{2})")
_SPECIAL = frozenset('"|#')


def escape(value: str) -> str:
    """A value as VMX writes it between quotes."""
    return "".join(f"|{ord(char):02X}" if char in _SPECIAL or ord(char) < 0x20 else char
                   for char in value)


def unescape(value: str) -> str:
    return _HEX.sub(lambda match: chr(int(match.group(1), 16)), value)


class Vmx:
    """The entries of one ``.vmx`` file, in order; keys compared without case."""

    def __init__(self, entries: Mapping[str, str] | None = None) -> None:
        self._entries: dict[str, tuple[str, str]] = {}
        """Lower-case key → (key as written, value)."""
        for key, value in (entries or {}).items():
            self[key] = value

    @classmethod
    def parse(cls, text: str) -> Vmx:
        """Entries of ``text``; comment and malformed lines are dropped, the last of
        repeated keys wins (as VMware reads them)."""
        found = cls()
        for line in text.splitlines():
            if not line.strip() or line.lstrip().startswith("#"):
                continue
            match = _LINE.match(line)
            if match is not None:
                raw = match.group(2) if match.group(2) is not None else match.group(3)
                found[match.group(1)] = unescape(raw)
        return found

    def __getitem__(self, key: str) -> str:
        return self._entries[key.lower()][1]

    def __setitem__(self, key: str, value: str) -> None:
        written = self._entries.get(key.lower(), (key, ""))[0]
        self._entries[key.lower()] = (written, value)

    def __delitem__(self, key: str) -> None:
        self._entries.pop(key.lower(), None)

    def __contains__(self, key: object) -> bool:
        return isinstance(key, str) and key.lower() in self._entries

    def __iter__(self) -> Iterator[str]:
        return (written for written, _ in self._entries.values())

    def get(self, key: str, default: str | None = None) -> str | None:
        found = self._entries.get(key.lower())
        return found[1] if found is not None else default

    def flag(self, key: str) -> bool:
        """A boolean entry (``TRUE``, ``true``, ``1``); absent is false."""
        return (self.get(key) or "").strip().lower() in ("true", "1", "yes")

    def update(self, values: Mapping[str, str | None]) -> None:
        """Set each key; a None value removes it."""
        for key, value in values.items():
            if value is None:
                del self[key]
            else:
                self[key] = value

    def drop_prefix(self, prefix: str) -> None:
        """Remove every key starting with ``prefix`` (``ethernet1.``), case-insensitive."""
        for lower in [k for k in self._entries if k.startswith(prefix.lower())]:
            del self._entries[lower]

    def with_prefix(self, prefix: str) -> dict[str, str]:
        """Keys starting with ``prefix`` (lower case, without it) → values."""
        return {lower[len(prefix):]: value for lower, (_, value) in self._entries.items()
                if lower.startswith(prefix.lower())}

    def text(self) -> str:
        """The file: ``.encoding`` first, then every entry in the order it came."""
        lines = [f'{ENCODING_KEY} = "UTF-8"']
        lines += [f'{written} = "{escape(value)}"' for lower, (written, value)
                  in self._entries.items() if lower != ENCODING_KEY]
        return "\n".join(lines) + "\n"
