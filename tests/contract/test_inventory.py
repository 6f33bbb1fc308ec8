"""list_managed and create: what is created reads back as declared, and is found again.

The bulk read is how the planner learns what exists: an object it misses is
planned as a create (a duplicate), an object of another stack it lists as
ours is planned as a delete.
"""

from __future__ import annotations

import pytest

from contract.checks import create_all, field_diffs, managed, seen
from contract.targets import ContractTarget, Hypervisor
from provisioner.core.address import Kind
from provisioner.core.resources import Resource
from provisioner.errors import ProviderError
from provisioner.providers.base import Provider

OTHER = "other"


def test_empty_hypervisor_has_nothing_managed(provider: Provider) -> None:
    assert list(provider.list_managed().managed) == []


def test_created_objects_read_back_as_declared(
    provider: Provider, samples: dict[Kind, Resource]
) -> None:
    for kind, resource in samples.items():
        live = provider.create(resource)
        assert live.address == resource.address
        assert live.kind is kind
        assert live.id
        assert live.name
        diffs = field_diffs(provider, resource, live)
        assert diffs == [], f"{resource.address} differs right after create: {diffs}"
        attributes = provider.schema().kinds[kind].attributes
        assert set(attributes) <= set(live.attributes), f"{resource.address}: {live.attributes}"


def test_list_managed_finds_exactly_what_was_created(
    provider: Provider, samples: dict[Kind, Resource]
) -> None:
    created = create_all(provider, samples.values())
    listed = managed(provider)
    assert set(listed) == set(created)
    for address, live in created.items():
        assert seen(listed[address]) == seen(live), address
        resource = samples[address.kind]
        assert field_diffs(provider, resource, listed[address]) == [], "a re-plan shows changes"
        assert set(resource.deps) <= set(listed[address].deps), "deletes would run out of order"


def _theirs(target: ContractTarget) -> dict[str, object]:
    sections: dict[str, object] = {
        Kind.POOL.value: {"theirs": {"provider": "hv", "path": "/srv/theirs"}},
        Kind.NETWORK.value: {"theirs": target.network(cidr=None)},
        Kind.VOLUME.value: {"theirs": {"provider": "hv", "size": "1GiB"}},
        Kind.GUEST.value: {"theirs": target.small_guest()},
    }
    return {kind.value: sections[kind.value] for kind in Kind if kind in target.kinds}


def test_other_stacks_and_untagged_objects_are_foreign(
    target: ContractTarget, hypervisor: Hypervisor, provider: Provider,
    samples: dict[Kind, Resource],
) -> None:
    ours = create_all(provider, samples.values())
    other = hypervisor.provider(OTHER)
    theirs = create_all(other, hypervisor.load(_theirs(target), stack=OTHER))
    for kind in target.kinds:
        hypervisor.define_untagged(kind, "stray")

    inventory = provider.list_managed()
    assert {live.address for live in inventory.managed} == set(ours)
    for live in theirs.values():
        if live.kind in target.foreign_kinds:
            assert inventory.foreign[live.kind].get(live.name) == f"stack {OTHER}", live.address
    for kind in target.foreign_kinds:
        assert inventory.foreign[kind].get("stray") == "untagged", kind
        assert all(name not in inventory.foreign[kind] for name in
                   (live.name for live in ours.values() if live.kind is kind))

    assert {live.address for live in other.list_managed().managed} == set(theirs)


def test_create_never_takes_over_a_name_it_does_not_own(
    target: ContractTarget, hypervisor: Hypervisor, provider: Provider,
    samples: dict[Kind, Resource],
) -> None:
    taken = [r for r in samples.values() if r.kind in target.foreign_kinds]
    free = [r for r in samples.values() if r.kind not in target.foreign_kinds]
    for resource in taken:
        hypervisor.define_untagged(resource.kind, resource.name)
    create_all(provider, free)
    volumes = hypervisor.volume_names()

    for resource in taken:
        with pytest.raises(ProviderError) as failure:
            provider.create(resource)
        message = str(failure.value)
        assert message.count(str(resource.address)) == 1, message

    inventory = provider.list_managed()
    assert {live.address for live in inventory.managed} == {r.address for r in free}
    for resource in taken:
        assert inventory.foreign[resource.kind].get(resource.name) == "untagged"
    assert hypervisor.volume_names() == volumes
