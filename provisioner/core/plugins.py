"""Provider plugins, found through the ``provisioner.providers`` entry-point group.

An entry point names a ``ProviderPlugin`` object in a light module: importing
it must not import the hypervisor library (``provisioner --help`` stays fast
and works without libvirt, proxmoxer or pyvmomi). The provider class, and
with it the library, is imported only when a provider is built; a missing
library becomes a MissingExtraError naming the ``pip install`` that fixes it.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from functools import cache
from typing import TYPE_CHECKING

from pydantic import BaseModel, ConfigDict

from provisioner.core.address import Kind
from provisioner.errors import MissingExtraError, UserError

if TYPE_CHECKING:
    from importlib.metadata import EntryPoint

    from provisioner.providers.base import Provider

ENTRY_POINT_GROUP = "provisioner.providers"
BUILT_IN = {
    "libvirt": "provisioner.providers.libvirt:plugin",
    "proxmox": "provisioner.providers.proxmox:plugin",
    "vsphere": "provisioner.providers.vsphere:plugin",
    "qemu": "provisioner.providers.qemu:plugin",
    "xenserver": "provisioner.providers.xenserver:plugin",
    "virtualbox": "provisioner.providers.virtualbox:plugin",
    "hyperv": "provisioner.providers.hyperv:plugin",
    "parallels": "provisioner.providers.parallels:plugin",
    "vmware-desktop": "provisioner.providers.vmware_desktop:plugin",
}
"""The plugins shipped with provisioner (also declared as entry points in
pyproject.toml): found without scanning every installed distribution's entry
points, which costs a command several milliseconds."""


class NoOptions(BaseModel):
    """The options of a kind that has none: every ``options:`` key is refused."""

    model_config = ConfigDict(strict=True, frozen=True, extra="forbid", defer_build=True)


@dataclass(frozen=True)
class Retired:
    """A hypervisor people may look for that no provider serves: it was discontinued."""

    product: str
    reason: str
    successor: str


RETIRED = {
    "oraclevm": Retired("Oracle VM Server", "discontinued: Oracle ended its support in 2021",
                        "Oracle Linux Virtualization Manager (oVirt-based; KVM guests: use "
                        "type: libvirt on its hosts)"),
    "virtualpc": Retired("Microsoft Virtual PC", "discontinued with Windows 7",
                         "Hyper-V (in every Windows Pro and Server)"),
}
"""Provider types ``provisioner providers`` lists as not supported, with why and what
replaced them; a stack naming one is refused with the same words."""


@dataclass(frozen=True)
class ProviderPlugin:
    """Describes a provider type without importing its hypervisor library."""

    type_name: str
    version: str
    config_model: type[BaseModel]
    """Validates the provider block (everything but ``type``)."""
    provider_path: str
    """``module:Class`` of the Provider subclass, imported on first use."""
    requires: str
    """The third-party module the provider needs, such as ``libvirt`` ("" for none: a
    provider driving a program, whose ``probe`` says whether it is there)."""
    extra: str
    """The pip extra that installs it: ``pip install 'provisioner[EXTRA]'``."""
    kinds: frozenset[Kind]
    """The kinds it serves: the loader refuses a resource of another kind on it, and
    the provider's ``schema()`` serves exactly these."""
    options_models: Mapping[Kind, type[BaseModel]] = field(default_factory=dict)
    """Validates a resource's ``options:``, for the kinds that have provider options
    (a kind without a model takes no ``options:`` keys: ``options_model``)."""
    summary: str = ""
    memory_unit: int = 1
    """What the hypervisor stores memory in, in bytes (libvirt KiB, Proxmox MiB): a
    guest's memory must be a whole number of it, or the stored value differs from the
    stack's and every later plan shows a change."""
    probe: Callable[[], str] | None = None
    """What this machine offers the provider, in a few words, for ``provisioner
    providers`` (the qemu provider: the accelerator ``auto`` picks). Light: it must not
    import the hypervisor library."""

    def __post_init__(self) -> None:
        unserved = sorted(kind.value for kind in set(self.options_models) - self.kinds)
        if unserved:
            raise ValueError(f"plugin {self.type_name}: options for kinds it does not "
                             f"serve: {', '.join(unserved)}")

    def options_model(self, kind: Kind) -> type[BaseModel]:
        """The model of ``options:`` for a resource of ``kind`` on this provider."""
        return self.options_models.get(kind, NoOptions)

    def provider_class(self) -> type[Provider]:
        """Import the provider class; a missing library raises MissingExtraError."""
        module_name, _, class_name = self.provider_path.partition(":")
        try:
            module = importlib.import_module(module_name)
        except ModuleNotFoundError as exc:
            if exc.name and exc.name.split(".")[0] == self.requires.split(".")[0]:
                raise MissingExtraError(self.type_name, self.requires, self.extra) from exc
            raise
        cls: type[Provider] = getattr(module, class_name)
        return cls


@cache
def _entry_points() -> dict[str, EntryPoint]:
    """Plugins installed by other packages (importlib.metadata, about 10 ms to import,
    is needed only when a type is not built in: issue 19)."""
    from importlib.metadata import entry_points

    return {point.name: point for point in entry_points(group=ENTRY_POINT_GROUP)}


def installed_types() -> list[str]:
    """Names of every provider type available, sorted; imports nothing."""
    return sorted(set(_entry_points()) | set(BUILT_IN))


def get_plugin(type_name: str) -> ProviderPlugin:
    """The plugin for ``type_name``; raises UserError listing the installed types."""
    if type_name in BUILT_IN:
        module_name, _, attribute = BUILT_IN[type_name].partition(":")
        built_in: ProviderPlugin = getattr(importlib.import_module(module_name), attribute)
        return built_in
    point = _entry_points().get(type_name)
    if point is None and type_name in RETIRED:
        retired = RETIRED[type_name]
        raise UserError(f"provider type '{type_name}' ({retired.product}) is not supported: "
                        f"{retired.reason}", hint=f"its successor is {retired.successor}")
    if point is None:
        installed = ", ".join(installed_types()) or "none"
        raise UserError(
            f"unknown provider type '{type_name}' (installed: {installed})",
            hint="check the spelling, or install the plugin that provides it",
        )
    plugin = point.load()
    if not isinstance(plugin, ProviderPlugin):
        raise UserError(f"entry point '{point.value}' is not a ProviderPlugin")
    return plugin
