"""The JSON Schema of stack files, generated from the pydantic models.

``schemas/stack.schema.json`` is this output (a test keeps it current); editors
use it through the ``yaml-language-server`` modeline of the example stacks.
Provider blocks are described by the built-in plugins' settings models.
"""

from __future__ import annotations

import json
from typing import Any

from provisioner.core.plugins import get_plugin, installed_types
from provisioner.stack.model import NOT_IN_A_MODULE, StackModel

SCHEMA_ID = "https://provisioner.dev/schemas/stack.schema.json"
MODULE_SCHEMA_ID = "https://provisioner.dev/schemas/module.schema.json"
BUILT_IN_PREFIX = "provisioner.providers."


EXPRESSION = {"type": "string", "pattern": r"^\$\{.+\}$",
              "description": "an expression such as ${var.cpus}, replaced before validation"}


def stack_schema() -> dict[str, Any]:
    schema: dict[str, Any] = _allow_expressions(StackModel.model_json_schema(by_alias=True))
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["$id"] = SCHEMA_ID
    schema["title"] = "provisioner stack"
    blocks = []
    for type_name in _built_in_types():
        block, definitions = _provider_block(type_name)
        blocks.append(block)
        schema["$defs"].update(definitions)
    if blocks:
        schema["$defs"]["ProviderBlock"] = {
            "description": "A provider instance: `type` picks the plugin.",
            "oneOf": blocks,
        }
    return schema


def _allow_expressions(node: Any) -> Any:
    """Numbers, booleans and constrained strings (patterns, choices) may also be
    written as ``${...}``: the loader substitutes before it validates."""
    if isinstance(node, list):
        return [_allow_expressions(item) for item in node]
    if not isinstance(node, dict):
        return node
    node = {key: _allow_expressions(value) for key, value in node.items()}
    constrained_text = node.get("type") == "string" and ("pattern" in node or "enum" in node)
    if node.get("type") in ("integer", "number", "boolean") or constrained_text:
        keep = {k: v for k, v in node.items() if k in ("default", "description", "title")}
        scalar = {k: v for k, v in node.items() if k not in keep}
        return {**keep, "anyOf": [scalar, EXPRESSION]}
    return node


def _built_in_types() -> list[str]:
    return [t for t in installed_types()
            if get_plugin(t).provider_path.startswith(BUILT_IN_PREFIX)]


def _provider_block(type_name: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """A plugin's settings as one branch of ProviderBlock, and its nested models'
    definitions, renamed (``Libvirt...``) to sit beside the stack's own ``$defs``."""
    plugin = get_plugin(type_name)
    prefix = type_name.capitalize()
    text = json.dumps(_allow_expressions(plugin.config_model.model_json_schema()))
    block: dict[str, Any] = json.loads(text.replace('"#/$defs/', f'"#/$defs/{prefix}'))
    definitions = {f"{prefix}{name}": value for name, value in block.pop("$defs", {}).items()}
    block.setdefault("properties", {})
    block["properties"] = {"type": {"const": type_name},
                           "capacity": {"$ref": "#/$defs/CapacitySettings"},
                           **block["properties"]}
    block["required"] = ["type", *block.get("required", [])]
    block["title"] = f"{type_name} provider"
    return block, definitions


def module_schema() -> dict[str, Any]:
    """The schema of a module's files (stack/modules.py): a stack file without
    ``stack:``, ``providers:``, ``state:``, ``placement_groups:`` or ``moved:``."""
    schema: dict[str, Any] = _allow_expressions(StackModel.model_json_schema(by_alias=True))
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["$id"] = MODULE_SCHEMA_ID
    schema["title"] = "provisioner module"
    for key in NOT_IN_A_MODULE:
        schema["properties"].pop(key, None)
    schema["required"] = [key for key in schema.get("required", []) if key != "stack"]
    schema["$defs"] = {name: value for name, value in schema["$defs"].items()
                       if name not in ("ProviderBlock", "StateConfig", "PlacementGroup")}
    return schema


def render_schema(module: bool = False) -> str:
    return json.dumps(module_schema() if module else stack_schema(), indent=2,
                      sort_keys=False) + "\n"
