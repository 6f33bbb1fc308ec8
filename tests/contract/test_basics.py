"""Construction, schema and capacity: what a provider says before it changes anything."""

from __future__ import annotations

from pathlib import Path

import pytest

from contract.targets import STACK, ContractTarget, build_provider
from provisioner.core.address import Kind
from provisioner.core.plugins import get_plugin
from provisioner.core.resources import Resource
from provisioner.errors import ProviderError
from provisioner.providers.base import Provider


def test_init_and_schema_do_no_io(target: ContractTarget, tmp_path: Path) -> None:
    provider = build_provider(tmp_path, STACK, target.unreachable_block())
    assert provider.stats.total() == 0
    provider.schema()
    assert provider.stats.total() == 0, provider.stats.calls
    provider.close()


def test_unreachable_hypervisor_raises_provider_error(
    target: ContractTarget, tmp_path: Path
) -> None:
    provider = build_provider(tmp_path, STACK, target.unreachable_block())
    with pytest.raises(ProviderError):
        provider.list_managed()
    provider.close()


def test_schema_serves_the_declared_kinds(target: ContractTarget, provider: Provider) -> None:
    """The kinds the plugin declares (what the loader lets a stack put on it) are the
    kinds its schema serves, and the suite's samples are among them."""
    declared = get_plugin(provider.type_name).kinds
    assert set(provider.schema().kinds) == declared
    assert target.kinds <= declared


def test_every_field_of_the_samples_has_a_rule(
    provider: Provider, samples: dict[Kind, Resource]
) -> None:
    for kind, resource in samples.items():
        kind_schema = provider.schema().kinds[kind]
        without_rule = [name for name in resource.spec if name not in kind_schema.fields]
        assert without_rule == [], f"{kind.value}: no rule for {without_rule}"
        heads = {pattern.split("[", 1)[0].split(".", 1)[0] for pattern in kind_schema.fields}
        unknown = sorted(heads - set(resource.spec))
        assert unknown == [], f"{kind.value}: rules for fields that do not exist: {unknown}"


def test_capacity_reports_hosts_and_the_default_pool(
    target: ContractTarget, provider: Provider
) -> None:
    capacity = provider.capacity()
    assert capacity.hosts, "no host reported"
    for host in capacity.hosts:
        assert host.node
        assert host.cpus > 0
        assert host.memory_total > 0
        assert 0 <= host.memory_free <= host.memory_total
    pools = {pool.pool: pool for pool in capacity.pools}
    assert target.default_pool in pools, sorted(pools)
    for pool in pools.values():
        assert 0 <= pool.available <= pool.capacity
    assert pools[target.default_pool].capacity > 0
