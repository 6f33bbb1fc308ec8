"""Plan cost: one bulk read whatever the number of guests (DESIGN: the provider contract).

Providers count their API calls by category in ``provider.stats``: "list" for
bulk listings, "read" for per-object reads. Listings must not grow with the
number of guests; reads may, at most linearly.
"""

from __future__ import annotations

from contract.checks import calls_during, create_all
from contract.targets import ContractTarget, Hypervisor
from provisioner.providers.base import Provider

FEW, MANY = 3, 30


def test_list_calls_stay_constant_and_reads_grow_at_most_linearly(
    target: ContractTarget, hypervisor: Hypervisor, provider: Provider
) -> None:
    fleet = hypervisor.load({"guests": {"fleet": target.small_guest(count=MANY)}})
    create_all(provider, fleet[:FEW])
    few = calls_during(provider, provider.list_managed)
    create_all(provider, fleet[FEW:])
    many = calls_during(provider, provider.list_managed)

    assert len(provider.list_managed().managed) == MANY
    assert few.get("list", 0) > 0, f"no bulk listing counted as 'list': {few}"
    assert many.get("list", 0) == few.get("list", 0), (few, many)
    assert many.get("read", 0) <= few.get("read", 0) * (MANY // FEW), (few, many)
    assert set(many) <= {"list", "read", "connect"}, f"a read-only call wrote: {many}"
