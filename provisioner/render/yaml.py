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


def declaration_yaml(address: Address, provider: str, spec: Mapping[str, Any]) -> str:
    body = {"provider": provider, **_clean(spec)}
    document = {address.kind.value: {address.name: body}}
    return yaml.safe_dump(document, sort_keys=False, default_flow_style=False, width=100)


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
