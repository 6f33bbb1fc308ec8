"""Ownership of qemu guests: the marker's carrier is a file, ``owner.json`` in the
guest's directory (``files.py``), holding the marker as one JSON document with
the spec as applied (``spec``): what a stopped guest starts with, and what QEMU
cannot report (the image, cloud-init digests, options)."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from provisioner.core.address import Address
from provisioner.providers.kit import ownership as kit
from provisioner.providers.kit.marker import Marker, MarkerCodec

CODEC = MarkerCodec(memo_key="spec")


@dataclass(frozen=True)
class Ownership(kit.Ownership):
    """One provider block of one stack: writes its markers and reads them back."""

    def write(self, path: Path, address: Address, spec: Mapping[str, Any]) -> None:
        """Write the marker atomically (a crash leaves the old one or the new one)."""
        text = CODEC.encode(self.marker(address, spec))
        partial = path.with_name(path.name + ".new")
        partial.write_text(text + "\n", encoding="utf-8")
        os.replace(partial, path)


def read_marker(path: Path) -> Marker | None:
    """The marker in ``path``; None when the file is gone or holds no marker."""
    try:
        return CODEC.decode(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError):
        return None
