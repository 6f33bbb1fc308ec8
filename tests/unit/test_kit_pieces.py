"""The kit's smaller pieces: capacity arithmetic, references, fixed MACs."""

from __future__ import annotations

import pytest

from provisioner.core.address import Address, Kind
from provisioner.core.problems import Problem
from provisioner.core.resources import Resource
from provisioner.providers.base import HostCapacity, PoolCapacity, Requirements
from provisioner.providers.kit.capacity import (
    GuestLoad,
    add_storage,
    host_capacity,
    pool_capacity,
    while_running,
)
from provisioner.providers.kit.macs import MacHolder, first_holders, fixed_macs, mac_clashes
from provisioner.providers.kit.references import pool_of, referenced

pytestmark = pytest.mark.unit


def test_a_host_counts_its_running_and_stopped_guests() -> None:
    guests = [GuestLoad(True, 2, 1024), GuestLoad(False, 4, 4096), GuestLoad(True, 1, 512)]
    assert host_capacity("h", 8, 16384, 8000, guests) == HostCapacity(
        "h", 8, 16384, 8000, running_cpus=3, running_memory=1536, stopped_cpus=4,
        stopped_memory=4096)


def test_pool_space_is_clamped_and_guests_reserve_only_while_running() -> None:
    assert pool_capacity("p", 100, 150) == PoolCapacity("p", 100, 100)
    assert pool_capacity("p", 100, -5) == PoolCapacity("p", 100, 0)
    storage: dict[str, int] = {}
    add_storage(storage, "a", 5)
    add_storage(storage, "a", 7)
    assert while_running(False, 2, 1024, storage, "n") == Requirements(0, 0, {"a": 12}, "n")
    assert while_running(True, 2, 1024) == Requirements(2, 1024, {})


def test_a_pool_reference_names_the_stacks_pool_the_hypervisors_or_the_default() -> None:
    data = Address(Kind.POOL, "data")
    web = Resource(Address(Kind.GUEST, "web"), "kvm", {},
                   references={"disks[0].pool": data}, dep_names={data: "data.r1"})

    def stack_pool(name: str) -> str:
        return f"lab.kvm__{name}"

    assert pool_of(web, "disks[0].pool", "data", default="d", stack_pool=stack_pool) == \
        "lab.kvm__data.r1"
    assert pool_of(web, "disks[1].pool", "ssd", default="d", stack_pool=stack_pool) == "ssd"
    assert pool_of(web, "disks[2].pool", None, default="d", stack_pool=stack_pool) == "d"
    assert referenced(web, Kind.POOL, "data") == "data.r1"
    assert referenced(web, Kind.NETWORK, "lab") == "lab"


def test_fixed_macs_and_their_holders() -> None:
    web = Resource(Address(Kind.GUEST, "web"), "kvm",
                   {"networks": [{"mac": "52:54:00:AA:00:01"}, None, {"network": "x"}]})
    box = Resource(Address(Kind.CONTAINER, "box"), "pve",
                   {"networks": [{"mac": "52:54:00:aa:00:02"}]})
    assert [(f.resource.address, f.path) for f in fixed_macs([web, box])] == \
        [(web.address, "networks[0].mac")]
    assert len(fixed_macs([web, box], (Kind.GUEST, Kind.CONTAINER))) == 2
    holders = first_holders([("b", ["52:54:00:AA:00:01"]), ("a", ["52:54:00:aa:00:01"])])
    assert holders == {"52:54:00:aa:00:01": "b"}
    problems = mac_clashes([web], {"52:54:00:aa:00:01": MacHolder("old", "untagged")})
    assert problems == [Problem("52:54:00:AA:00:01 is already used by VM 'old' (untagged)",
                                web.address, "networks[0].mac",
                                hint="choose another MAC, or leave mac: out to have one "
                                     "generated")]
