"""Ownership of qemu guests: the marker's carrier is a file, ``owner.json`` in the
guest's directory (``files.py``), holding the marker as one JSON document with
the spec as applied (``spec``): what a stopped guest starts with, and what QEMU
cannot report (the image, cloud-init digests, options)."""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from provisioner.core.address import Address
from provisioner.core.resources import LiveObject
from provisioner.providers.kit import ownership as kit
from provisioner.providers.kit.marker import Marker, MarkerCodec

CODEC = MarkerCodec(memo_key="spec")


@dataclass(frozen=True)
class Ownership(kit.Ownership):
    """One provider block of one stack: writes its markers and reads them back."""

    def write(self, path: Path, address: Address, spec: Mapping[str, Any],
              protected: bool = False) -> None:
        """Write the marker atomically (a crash leaves the old one or the new one);
        ``protected``: the stack's prevent_destroy (guests keep it)."""
        text = CODEC.encode(self.marker(address, spec, protected))
        partial = path.with_name(path.name + ".new")
        partial.write_text(text + "\n", encoding="utf-8")
        os.replace(partial, path)


def read_marker(path: Path) -> Marker | None:
    """The marker in ``path``; None when the file is gone or holds no marker."""
    try:
        return CODEC.decode(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError):
        return None


CREATING_SUFFIX = ".creating.json"
"""A marker written before the object it marks is made (renamed to ``NAME.json`` once it
is): found alone, it names a leftover of an interrupted create."""

LiveOf = Callable[[str, Address, dict[str, Any]], LiveObject]


def marked_objects(directory: Path, ownership: Ownership,
                   live_of: LiveOf) -> tuple[list[LiveObject], list[LiveObject]]:
    """The objects of this block that ``NAME.json`` markers in ``directory`` describe,
    and the leftovers ``NAME.creating.json`` markers name (``live_of`` reads each)."""
    managed: list[LiveObject] = []
    leftovers: list[LiveObject] = []
    if not directory.is_dir():
        return managed, leftovers
    for path in sorted(directory.glob("*.json")):
        leftover = path.name.endswith(CREATING_SUFFIX)
        marker = read_marker(path)
        if marker is None or not ownership.owns(marker):
            continue
        name = path.name.removesuffix(CREATING_SUFFIX if leftover else ".json")
        live = live_of(name, marker.address, dict(marker.memo))
        (leftovers if leftover else managed).append(live)
    return managed, leftovers
