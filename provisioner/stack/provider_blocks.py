"""The ``providers:`` section: each block validated by its plugin's settings model.

A block whose type or settings are wrong is None, its problems reported; the
placement groups' views (``members_view``, ``group_kinds``) let the rest of the
loader treat a group like the blocks it places guests on.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from typing import Any

from provisioner.core.address import Kind
from provisioner.core.plugins import get_plugin
from provisioner.errors import StackProblem, UserError
from provisioner.stack.model import CapacitySettings, PlacementGroup
from provisioner.stack.source import PathKey, SourceMap
from provisioner.stack.stack import ProviderConfig
from provisioner.stack.validation import validate_model


def read_providers(data: Mapping[str, Any], source: SourceMap, hidden: Collection[PathKey]
                   ) -> tuple[dict[str, ProviderConfig | None], dict[PathKey, Any],
                              list[StackProblem]]:
    """Each block by name (None: not valid), the validated settings by path (for the
    secret checks), and the problems; ``hidden``: paths whose values are secrets."""
    configs: dict[str, ProviderConfig | None] = {}
    validated: dict[PathKey, Any] = {}
    problems: list[StackProblem] = []
    section = data.get("providers")
    if not isinstance(section, dict):
        return configs, validated, problems
    for name, block in section.items():
        configs[name] = None
        if not isinstance(block, dict) or not isinstance(block.get("type"), str):
            continue  # reported by the top-level validation
        path: PathKey = ("providers", name)
        try:
            plugin = get_plugin(block["type"])
        except UserError as exc:
            problems.append(StackProblem(source.value_at((*path, "type")),
                                         "providers." + name + ".type", exc.message, exc.hint))
            continue
        settings = {k: v for k, v in block.items() if k not in ("type", "capacity")}
        config, found = validate_model(plugin.config_model, settings, source, path, hidden)
        problems += found
        capacity, found = validate_model(CapacitySettings, block.get("capacity", {}),
                                         source, (*path, "capacity"))
        problems += found
        if config is not None and capacity is not None:
            configs[name] = ProviderConfig(name, block["type"], plugin, config, capacity)
            validated[path] = config
    return configs, validated, problems


def members_view(providers: Mapping[str, ProviderConfig | None],
                 groups: Mapping[str, PlacementGroup]) -> dict[str, ProviderConfig | None]:
    """Providers by name, with each placement group standing for its first member (all
    members are of one type: their options validate the same)."""
    view = dict(providers)
    for name, group in groups.items():
        view.setdefault(name, providers.get(group.providers[0]))
    return view


def group_kinds(group: PlacementGroup,
                providers: Mapping[str, ProviderConfig | None]) -> tuple[Kind, ...] | None:
    """What every member of a placement group serves (None if a member is unknown)."""
    members = [providers.get(name) for name in group.providers]
    if any(member is None for member in members):
        return None
    return tuple(kind for kind in Kind
                 if all(member is not None and kind in member.plugin.kinds for member in members))
