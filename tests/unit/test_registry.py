"""The provider registry: built-in plugins found without an entry-point scan, and the
table of them kept equal to the entry points pyproject.toml declares."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest

from provisioner.core import plugins as registry
from provisioner.errors import UserError

PYPROJECT = Path(__file__).resolve().parents[2] / "pyproject.toml"


def test_built_in_table_matches_the_declared_entry_points() -> None:
    declared = tomllib.loads(PYPROJECT.read_text())["project"]["entry-points"][
        registry.ENTRY_POINT_GROUP]
    assert declared == registry.BUILT_IN


@pytest.mark.parametrize("type_name", sorted(registry.BUILT_IN))
def test_a_built_in_plugin_loads_without_scanning_entry_points(
        type_name: str, monkeypatch: pytest.MonkeyPatch) -> None:
    def no_scan() -> dict[str, object]:
        raise AssertionError("scanned the installed distributions' entry points")

    monkeypatch.setattr(registry, "_entry_points", no_scan)
    plugin = registry.get_plugin(type_name)
    assert isinstance(plugin, registry.ProviderPlugin)
    assert plugin.type_name == type_name


def test_an_unknown_type_still_names_every_installed_type() -> None:
    with pytest.raises(UserError) as raised:
        registry.get_plugin("hyperv-typo")
    for type_name in registry.BUILT_IN:
        assert type_name in raised.value.message
