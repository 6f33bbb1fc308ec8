"""A loaded stack: what the planner, the engine and the commands read.

``loader.py`` makes one; nothing here reads files or validates.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from provisioner.core.address import Address
from provisioner.core.plugins import ProviderPlugin
from provisioner.core.resources import Resource
from provisioner.stack.environments import identity
from provisioner.stack.files import SkippedFile
from provisioner.stack.model import CapacitySettings, OutputSpec, PlacementGroup, StateConfig
from provisioner.stack.moves import Move
from provisioner.stack.source import SourceMap


@dataclass(frozen=True)
class ProviderConfig:
    """One validated ``providers:`` block."""

    name: str
    type_name: str
    plugin: ProviderPlugin
    config: BaseModel
    capacity: CapacitySettings = field(default_factory=CapacitySettings)


@dataclass(frozen=True)
class Stack:
    """A loaded, valid stack: what the planner needs and nothing it must not see."""

    name: str
    root: Path
    files: tuple[Path, ...]
    providers: Mapping[str, ProviderConfig]
    resources: tuple[Resource, ...]
    groups: Mapping[Address, list[Address]]
    outputs: Mapping[str, OutputSpec]
    state: StateConfig
    source: SourceMap = field(repr=False)
    placement_groups: Mapping[str, PlacementGroup] = field(default_factory=dict)
    variables: Mapping[str, Any] = field(default_factory=dict, repr=False)
    """Values of the non-sensitive variables (outputs may show them)."""
    digest: str = ""
    """sha256 of the files and variable values: changes when the stack does."""
    skipped: tuple[SkippedFile, ...] = ()
    """YAML files beside the stack files that are not stack files, and why."""

    disabled: frozenset[Address] = frozenset()
    """Declared with ``enabled: false`` (not in ``groups``: an existing one is deleted
    like any resource no longer declared, and ``--target`` may name it)."""
    moves: tuple[Move, ...] = ()
    """The ``moved:`` blocks (plan/moves.py)."""
    declared_as: Mapping[Address, Address] = field(default_factory=dict)
    """A module's declaration (``module.k8s.guests.worker``) → the key of its instances
    in ``groups`` (its flat name, ``guests.k8s-worker``: module_names.py)."""
    environment: str | None = None
    """``--env``: the environment file read over the stack (environments.py)."""
    other_outputs: Mapping[str, Any] = field(default_factory=dict)
    """Outputs of other stacks the stack refers to (``core.outputs.lab_net`` → value)."""

    @property
    def identity(self) -> str:
        """The name the state and the hypervisors know this stack (and environment) by."""
        return identity(self.name, self.environment)

    def resource(self, address: Address) -> Resource | None:
        return next((r for r in self.resources if r.address == address), None)

    def output_groups(self) -> dict[Address, list[Address]]:
        """``groups`` as outputs read them: a disabled resource has no instances, so
        an output naming it is an empty list."""
        return {address: [] for address in self.disabled} | dict(self.groups)
