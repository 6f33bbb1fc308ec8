"""Addresses: structured (module path, kind, name, instance index), printed and parsed
as plans, state and --target write them."""

from __future__ import annotations

import pytest

from provisioner.core.address import Address, Kind


@pytest.mark.parametrize(("text", "address"), [
    ("guests.web-0", Address(Kind.GUEST, "web-0")),
    ("networks.lab", Address(Kind.NETWORK, "lab")),
    ("module.k8s.guests.worker-0", Address(Kind.GUEST, "worker-0", ("k8s",))),
    ("module.a.module.b.volumes.data", Address(Kind.VOLUME, "data", ("a", "b"))),
])
def test_an_address_prints_and_parses_back(text: str, address: Address) -> None:
    assert str(address) == text
    assert Address.parse(text) == address


@pytest.mark.parametrize("text", ["guests", "guest.web", "guests.Web", "module.k8s",
                                  "module.K8s.guests.web", "module..guests.web"])
def test_what_is_not_an_address_is_refused_naming_the_kinds(text: str) -> None:
    with pytest.raises(ValueError, match="kinds: pools, images, networks"):
        Address.parse(text)


def test_the_instance_index_is_carried_but_is_not_identity() -> None:
    counted = Address(Kind.GUEST, "web-0", index=0)
    assert counted.index == 0
    assert counted == Address(Kind.GUEST, "web-0") and hash(counted) == hash(
        Address(Kind.GUEST, "web-0"))


def test_a_module_is_part_of_identity_and_sorts_after_the_stack() -> None:
    top, inside = Address(Kind.GUEST, "web"), Address(Kind.GUEST, "web", ("m",))
    assert top != inside
    assert sorted([inside, Address(Kind.NETWORK, "lab"), top]) == [
        Address(Kind.NETWORK, "lab"), top, inside]
