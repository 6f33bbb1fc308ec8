"""A resource as stack YAML (for ``provisioner import``): what exists, declared as is.

Fields the hypervisor filled in but a user would not write (None, empty
options) are left out; sizes get units.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import yaml

from provisioner.core.address import Address
from provisioner.core.resources import Blob
from provisioner.units import Bytes, format_size

DISK_SOURCES = ("size", "image", "volume")
"""A declared disk has one of these (``stack.model.Disk``)."""


def declaration_yaml(address: Address, provider: str, spec: Mapping[str, Any]) -> str:
    """The YAML that declares ``spec`` as ``address``; disks a stack cannot declare as
    read (a file outside every storage pool: no size, image or volume) are left out
    and named in a comment, so that ``validate`` accepts what is printed."""
    body = {"provider": provider, **_clean(spec)}
    body, left_out = _declarable_disks(body)
    document = {address.kind.value: {address.name: body}}
    text = yaml.safe_dump(document, sort_keys=False, default_flow_style=False, width=100)
    notes = [f"# left out: disks[{index}] ({disk.get('slot') or '?'}), not a volume of a "
             "storage pool: provisioner cannot declare it; the plan shows it removed unless "
             "it is moved into a pool\n" for index, disk in left_out]
    return "".join(notes) + text


def _declarable_disks(body: dict[str, Any]) -> tuple[dict[str, Any], list[tuple[int, Any]]]:
    disks = body.get("disks")
    if not isinstance(disks, list):
        return body, []
    kept, left_out = [], []
    for index, disk in enumerate(disks):
        if isinstance(disk, Mapping) and not any(disk.get(key) for key in DISK_SOURCES):
            left_out.append((index, disk))
        else:
            kept.append(disk)
    if not left_out:
        return body, []
    return {key: value for key, value in {**body, "disks": kept}.items()
            if value not in ([], None)}, left_out


def _clean(value: Any) -> Any:
    if isinstance(value, Mapping):
        cleaned = {str(k): _clean(v) for k, v in value.items()}
        return {k: v for k, v in cleaned.items() if v not in (None, {}, [])}
    if isinstance(value, list):
        return [_clean(item) for item in value]
    if isinstance(value, Bytes):
        return format_size(int(value))
    if isinstance(value, Blob):
        return value.label
    return value
