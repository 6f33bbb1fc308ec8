"""Small helpers the contract tests share: create in order, index a listing, diff, count."""

from __future__ import annotations

from collections.abc import Callable, Iterable

from provisioner.core.address import Address
from provisioner.core.resources import LiveObject, Resource, to_plain
from provisioner.plan.diff import diff_resource
from provisioner.plan.model import FieldDiff
from provisioner.providers.base import Provider


def create_all(provider: Provider, resources: Iterable[Resource]) -> dict[Address, LiveObject]:
    """Create ``resources`` in the order given (dependencies first)."""
    return {resource.address: provider.create(resource) for resource in resources}


def managed(provider: Provider) -> dict[Address, LiveObject]:
    """One bulk read, by address; an address listed twice fails the test."""
    objects = list(provider.list_managed().managed)
    addresses = [live.address for live in objects]
    assert len(addresses) == len(set(addresses)), f"listed twice: {sorted(addresses)}"
    return {live.address: live for live in objects}


def field_diffs(provider: Provider, resource: Resource, live: LiveObject) -> list[FieldDiff]:
    """What the planner would change, with no prior state: the provider's read-back alone."""
    kind_schema = provider.schema().kinds[resource.kind]
    return diff_resource(resource, live, None, kind_schema).fields


def seen(live: LiveObject) -> tuple[object, ...]:
    """What two reads of an unchanged object must agree on."""
    return live.id, live.name, to_plain(live.spec), live.running


def calls_during(provider: Provider, action: Callable[[], object]) -> dict[str, int]:
    """API calls per category that ``action`` made through ``provider``."""
    before = dict(provider.stats.calls)
    action()
    after = dict(provider.stats.calls)
    return {key: after[key] - before.get(key, 0) for key in after if after[key] != before.get(key)}
