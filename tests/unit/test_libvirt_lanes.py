"""Which libvirt changes take a pool's lane (``pool_parallel``): those that copy data
into the pool (an image imported, a guest whose disks copy an image), not a guest
whose disks are empty or overlays. Pure: the provider is built, never connected.

What the lanes do to an apply (at most ``pool_parallel`` such changes at once) is
the executor's, tested in test_executor_lanes.py.
"""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest
from support.libvirt_node import write_stack

from provisioner.core.address import Address, Kind
from provisioner.engine import Engine
from provisioner.providers.base import Lane
from provisioner.stack.loader import load_stack
from provisioner.state.local import SQLiteStore

pytestmark = pytest.mark.unit

STACK = """\
    apiVersion: provisioner/v1
    stack: lanes
    providers:
      kvm: { type: libvirt, uri: "test:///default", pool: default-pool, pool_parallel: 3 }
    volumes:
      data: { provider: kvm, size: 1GiB }
    guests:
      blank: { provider: kvm, disks: [ { size: 1GiB } ] }
      overlay: { provider: kvm, image: base.qcow2, disks: [ { size: 4GiB } ] }
      copied:
        provider: kvm
        image: base.qcow2
        disks: [ { size: 4GiB }, { size: 1GiB, pool: other } ]
        options: { image_mode: copy }
      copy-without-image:
        provider: kvm
        disks: [ { size: 1GiB } ]
        options: { image_mode: copy }
    """


@pytest.fixture
def lanes(tmp_path: Path) -> dict[str, list[Lane]]:
    stack = load_stack(write_stack(tmp_path, textwrap.dedent(STACK)))
    with Engine(stack, SQLiteStore(tmp_path / "state.db")) as engine:
        provider = engine.providers()["kvm"]
        return {str(r.address): provider.lanes(r) for r in stack.resources}


def test_a_guest_that_copies_an_image_takes_the_lane_of_each_pool_it_writes(
        lanes: dict[str, list[Lane]]) -> None:
    assert lanes["guests.copied"] == [Lane("storage:default-pool", 3), Lane("storage:other", 3)]


@pytest.mark.parametrize("address", ["guests.blank", "guests.overlay", "guests.copy-without-image",
                                     "volumes.data"])
def test_changes_that_write_a_few_kib_take_no_lane(lanes: dict[str, list[Lane]],
                                                   address: str) -> None:
    assert lanes[address] == []


def test_every_resource_of_the_stack_was_asked(lanes: dict[str, list[Lane]]) -> None:
    assert set(lanes) == {str(Address(Kind.GUEST, name)) for name in
                          ("blank", "overlay", "copied", "copy-without-image")} | {"volumes.data"}
