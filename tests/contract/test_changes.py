"""update, delete and failed creates: what each leaves on the hypervisor."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from contract.checks import create_all, field_diffs, managed, seen
from contract.targets import ContractTarget, Hypervisor
from provisioner.core.address import Kind
from provisioner.core.resources import PROTECTION_MARK, Effect, Resource, to_plain
from provisioner.errors import CreateFailedError, ProviderError
from provisioner.plan.diff import changed_paths, diff_resource
from provisioner.providers.base import Provider


def _guest(target: ContractTarget, hypervisor: Hypervisor, **fields: Any) -> Resource:
    (resource,) = hypervisor.load({"guests": {"app": target.small_guest(**fields)}})
    return resource


def test_update_changes_power_and_cpus_but_never_the_id(
    target: ContractTarget, hypervisor: Hypervisor, provider: Provider
) -> None:
    live = provider.create(_guest(target, hypervisor, power="stopped", cpus=1))
    assert live.running is False

    started = _guest(target, hypervisor, power="running", cpus=1)
    diffs = field_diffs(provider, started, live)
    assert [(d.path, d.effect) for d in diffs] == [("power", Effect.IN_PLACE)]
    after_start = provider.update(started, live, changed_paths(diffs))
    assert after_start.id == live.id
    assert after_start.running is True
    assert field_diffs(provider, started, after_start) == []

    grown = _guest(target, hypervisor, power="running", cpus=2)
    diffs = field_diffs(provider, grown, after_start)
    assert [(d.path, d.effect) for d in diffs] == [("cpus", Effect.RESTART)]
    after_grow = provider.update(grown, after_start, changed_paths(diffs))
    assert after_grow.id == live.id
    assert after_grow.spec["cpus"] == 2
    assert after_grow.running is True
    assert seen(managed(provider)[live.address]) == seen(after_grow)


def test_update_changes_only_the_listed_fields(
    target: ContractTarget, hypervisor: Hypervisor, provider: Provider
) -> None:
    """Fields left out of ``changed`` (lifecycle.ignore_changes) keep their live value."""
    live = provider.create(_guest(target, hypervisor, power="stopped", cpus=1))

    started = provider.update(_guest(target, hypervisor, power="running", cpus=2), live,
                              ["power"])
    assert started.running is True
    assert started.spec["cpus"] == 1, "cpus changed, but only power was listed"

    grown = provider.update(_guest(target, hypervisor, power="stopped", cpus=2), started,
                            ["cpus"])
    assert grown.spec["cpus"] == 2
    assert grown.running is True, "power changed, but only cpus was listed"
    assert grown.id == live.id


def test_an_option_removed_from_the_declaration_goes_back_to_its_default(
    target: ContractTarget, hypervisor: Hypervisor, provider: Provider
) -> None:
    """The planner diffs a removed ``options:`` key (prior has it, the stack not) as a
    change to null; the provider's update must then really drop it."""
    key, value, default = target.removable_option
    with_option = _guest(target, hypervisor, options={key: value})
    live = provider.create(with_option)
    assert live.spec["options"].get(key) == value

    without = _guest(target, hypervisor)
    schema = provider.schema().kinds[Kind.GUEST]
    diffs = diff_resource(without, live, to_plain(with_option.spec), schema).fields
    assert [(d.path, d.before, d.after) for d in diffs] == [(f"options.{key}", value, None)]
    after = provider.update(without, live, changed_paths(diffs))
    assert after.id == live.id
    assert after.spec["options"].get(key, default) == default
    assert diff_resource(without, after, to_plain(without.spec), schema).fields == []
    assert seen(managed(provider)[live.address]) == seen(after)


def test_volume_grows_in_place(
    target: ContractTarget, hypervisor: Hypervisor, provider: Provider
) -> None:
    if Kind.VOLUME not in target.kinds:
        pytest.skip(f"{target.name} serves no volumes")
    (small,) = hypervisor.load({"volumes": {"scratch": {"provider": "hv", "size": "1GiB"}}})
    (large,) = hypervisor.load({"volumes": {"scratch": {"provider": "hv", "size": "2GiB"}}})
    live = provider.create(small)
    diffs = field_diffs(provider, large, live)
    assert [(d.path, d.effect) for d in diffs] == [("size", Effect.IN_PLACE)]
    grown = provider.update(large, live, changed_paths(diffs))
    assert grown.id == live.id
    assert field_diffs(provider, large, grown) == []
    assert seen(managed(provider)[live.address]) == seen(grown)


def test_network_updates_in_place(
    target: ContractTarget, hypervisor: Hypervisor, provider: Provider
) -> None:
    if Kind.NETWORK not in target.kinds:
        pytest.skip(f"{target.name} serves no networks")
    network = target.network()
    key, value = target.network_in_place_edit
    (plain,) = hypervisor.load({"networks": {"net": network}})
    (named,) = hypervisor.load({"networks": {"net": {**network, key: value}}})
    live = provider.create(plain)
    diffs = field_diffs(provider, named, live)
    assert [(d.path, d.effect) for d in diffs] == [(key, Effect.IN_PLACE)]
    updated = provider.update(named, live, changed_paths(diffs))
    assert updated.id == live.id
    assert field_diffs(provider, named, updated) == []
    assert seen(managed(provider)[live.address]) == seen(updated)


def test_delete_is_idempotent_and_takes_only_own_disks(
    hypervisor: Hypervisor, provider: Provider, samples: dict[Kind, Resource]
) -> None:
    empty = hypervisor.volume_names()
    guest = samples.pop(Kind.GUEST)
    others = create_all(provider, samples.values())
    without_guest = hypervisor.volume_names()
    live = provider.create(guest)
    assert hypervisor.volume_names() > without_guest, "the guest's own disks are not volumes"

    provider.delete(live)
    provider.delete(live)
    assert guest.address not in managed(provider)
    assert hypervisor.volume_names() == without_guest, "own disks left, or attached volume gone"
    assert set(managed(provider)) == set(others)

    for other in reversed(others.values()):
        provider.delete(other)
        provider.delete(other)
    assert managed(provider) == {}
    assert hypervisor.volume_names() == empty


Sections = Callable[[ContractTarget], dict[str, Any]]
FAILING_CREATES: dict[str, Sections] = {
    "second-disk-in-a-missing-pool": lambda target: {"guests": {"broken": target.small_guest(
        disks=[{"size": "1GiB"}, {"size": "1GiB", "pool": "no-such-pool"}])}},
    "attached-volume-not-created": lambda target: {
        "volumes": {"ghost": {"provider": "hv", "size": "1GiB"}},
        "guests": {"broken": target.small_guest(disks=[{"size": "1GiB"}, {"volume": "ghost"}])},
    },
}


@pytest.mark.parametrize("case", sorted(FAILING_CREATES))
def test_failed_create_leaves_nothing_behind(
    case: str, target: ContractTarget, hypervisor: Hypervisor, provider: Provider
) -> None:
    resources = hypervisor.load(FAILING_CREATES[case](target))
    guest = next(r for r in resources if r.kind is Kind.GUEST)
    volumes = hypervisor.volume_names()

    with pytest.raises(ProviderError) as failure:
        provider.create(guest)

    assert "broken" in str(failure.value), "the error does not name the object"
    if isinstance(failure.value, CreateFailedError):
        assert failure.value.leftovers == ()
    inventory = provider.list_managed()
    assert list(inventory.managed) == []
    assert all("broken" not in names for names in inventory.foreign.values())
    assert hypervisor.volume_names() == volumes


def test_create_of_an_existing_object_does_not_harm_it(
    hypervisor: Hypervisor, provider: Provider, samples: dict[Kind, Resource]
) -> None:
    """A retried create (the first attempt's answer was lost) finds the object."""
    created = create_all(provider, samples.values())
    volumes = hypervisor.volume_names()
    for resource in samples.values():
        try:
            again = provider.create(resource)
        except ProviderError:
            continue
        assert again.id == created[resource.address].id
    listed = managed(provider)
    assert {address: seen(live) for address, live in listed.items()} == {
        address: seen(live) for address, live in created.items()}
    assert hypervisor.volume_names() == volumes


def test_prevent_destroy_is_kept_in_the_ownership_marker(
    target: ContractTarget, hypervisor: Hypervisor, provider: Provider
) -> None:
    """Every provider keeps a guest's prevent_destroy on the hypervisor (plan/protection.py):
    read back after the create, and by the next listing, whatever the state holds."""
    kept = provider.create(_guest(target, hypervisor, lifecycle={"prevent_destroy": True}))
    other = provider.create(_guest_named(target, hypervisor, "other"))
    assert kept.attributes.get(PROTECTION_MARK) is True
    assert other.attributes.get(PROTECTION_MARK) is False
    listed = managed(provider)
    assert listed[kept.address].attributes[PROTECTION_MARK] is True
    assert listed[other.address].attributes[PROTECTION_MARK] is False


def _guest_named(target: ContractTarget, hypervisor: Hypervisor, name: str) -> Resource:
    (resource,) = hypervisor.load({"guests": {name: target.small_guest()}})
    return resource
