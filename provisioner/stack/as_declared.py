"""A spec read from a hypervisor, in the shape a declaration of it would load to.

The loader leaves a resource's options at their default out of its spec
(``model_dump(exclude_defaults=True)``). A spec read back from the hypervisor
has every option; recorded as it is (``provisioner import``), the first plan
after its declaration is pasted would see the default options removed
(``options.full_clone: true -> null``, a replacement).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, get_args

from pydantic import BaseModel

from provisioner.core.address import Kind
from provisioner.stack.loader import Stack


def as_declared(stack: Stack, block: str, kind: Kind, spec: Mapping[str, Any]) -> dict[str, Any]:
    """``spec`` with the options at their default left out, as the loader leaves them."""
    model = stack.providers[block].plugin.options_models.get(kind)
    options = spec.get("options")
    if model is None or not isinstance(options, Mapping):
        return dict(spec)
    return {**spec, "options": without_defaults(model, options)}


def without_defaults(model: type[BaseModel], values: Mapping[str, Any]) -> dict[str, Any]:
    """``values`` without the fields at their model default, nested models too (what
    ``model_dump(exclude_defaults=True)`` keeps, without validating what was read)."""
    kept = {}
    for key, read in values.items():
        field = model.model_fields.get(key)
        if field is None:
            kept[key] = read
            continue
        nested = next((t for t in (field.annotation, *get_args(field.annotation))
                       if isinstance(t, type) and issubclass(t, BaseModel)), None)
        value = without_defaults(nested, read) if nested is not None and \
            isinstance(read, Mapping) else read
        if field.is_required() or value != field.get_default(call_default_factory=True):
            kept[key] = value
    return kept
