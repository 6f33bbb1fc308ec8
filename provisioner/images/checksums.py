"""Checksums as the stack writes them (``sha256:HEX``) and as SUMS files list them."""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass

from provisioner.errors import ProviderError

HEX_LENGTHS = {"sha256": 64, "sha512": 128}
CHECKSUM_PATTERN = r"^(sha256:[0-9a-fA-F]{64}|sha512:[0-9a-fA-F]{128})$"
"""What the stack's ``checksum:`` accepts."""
_GNU_LINE = re.compile(r"^(?P<hex>[0-9a-fA-F]{64}|[0-9a-fA-F]{128})\s+[* ]?(?P<name>.+)$")
_BSD_LINE = re.compile(r"^(?P<alg>SHA256|SHA512)\s*\((?P<name>.+)\)\s*=\s*(?P<hex>[0-9a-fA-F]+)$")


@dataclass(frozen=True)
class Checksum:
    """An algorithm and the lowercase hex digest it gives."""

    algorithm: str
    hex: str

    @classmethod
    def parse(cls, text: str) -> Checksum:
        """``sha256:HEX`` or ``sha512:HEX``; raises ValueError naming the forms."""
        algorithm, _, digest = text.strip().partition(":")
        algorithm = algorithm.lower()
        if HEX_LENGTHS.get(algorithm) != len(digest) or not _is_hex(digest):
            raise ValueError(f"'{text[:80]}' is not a checksum like sha256:HEX or sha512:HEX")
        return cls(algorithm, digest.lower())

    def __str__(self) -> str:
        return f"{self.algorithm}:{self.hex}"

    @property
    def short(self) -> str:
        """``sha512:ab12cd34…``: enough to tell two images apart in a plan."""
        return f"{self.algorithm}:{self.hex[:8]}…"

    @property
    def key(self) -> str:
        """A file name for the content: ``sha256-HEX``."""
        return f"{self.algorithm}-{self.hex}"

    def hasher(self) -> hashlib._Hash:
        return hashlib.new(self.algorithm)


def checksum_in_sums(text: str, filename: str, where: str) -> Checksum:
    """The checksum a SHA256SUMS/SHA512SUMS file gives ``filename`` (GNU ``HEX  name``
    or ``HEX *name`` lines, or BSD ``SHA256 (name) = HEX``); ProviderError if the file
    has no line for it."""
    for raw in text.splitlines():
        line = raw.strip()
        gnu, bsd = _GNU_LINE.match(line), _BSD_LINE.match(line)
        if gnu and gnu.group("name").strip().lstrip("./") == filename:
            digest = gnu.group("hex")
            return Checksum("sha256" if len(digest) == 64 else "sha512", digest.lower())
        if bsd and bsd.group("name").strip().lstrip("./") == filename:
            return Checksum.parse(f"{bsd.group('alg').lower()}:{bsd.group('hex')}")
    raise ProviderError(f"{where} has no checksum line for '{filename}'",
                        hint="check checksum_url, or give checksum: sha256:HEX instead")


def _is_hex(text: str) -> bool:
    return all(c in "0123456789abcdefABCDEF" for c in text)
