"""Storage admission on updates: a guest's existing disks are not counted again.

The guest's disk lives on a storage of the stack (``pools: big`` is the
cluster storage ``lab_big``, 100GiB in fakepve). What an update frees (the
live disks) and what it asks (the declared disks) must be counted against the
same storage; else every update of the guest asks for its whole disk once
more, and ``capacity`` shows a storage the cluster does not have.
"""

from __future__ import annotations

import pytest
from pve_harness import GIB, Lab, TestPve, failures, field_changes

BIG = """
pools:
  big: {{ provider: pve, path: /srv/x, options: {{ nodes: [pve1] }} }}
guests:
  db:
    provider: pve
    node: pve1
    memory: {memory}
    disks: [ {{ size: {size} }}, {{ size: 60GiB, pool: big }} ]
    networks: [ {{ bridge: vmbr0 }} ]
"""


def _stack(memory: str = "1GiB", size: str = "4GiB") -> str:
    return BIG.format(memory=memory, size=size)


@pytest.mark.simulator_only("counts on the fake's storage sizes (a directory storage of 100GiB)")
def test_an_update_does_not_count_the_guests_disk_again(lab: Lab, pve: TestPve) -> None:
    _, result = lab.apply(_stack())
    assert result.ok, failures(result)

    # refused before: "pool 'lab_big@pve1' has 40GiB free; the plan needs 60GiB more"
    plan = lab.plan(_stack(memory="2GiB"))
    assert field_changes(plan) == {"guests.db": [("memory", "requires restart")]}

    with lab.engine(_stack(memory="2GiB")) as engine:
        report = engine.capacity()
    pools = {row.pool: row for row in report.pools}
    assert report.fits, report.problems
    assert pools["lab_big@pve1"].available == 40 * GIB
    assert pools["lab_big@pve1"].plan == 0, "capacity shows a phantom 60GiB on lab_big"
    assert pools["local-lvm@pve1"].plan == 0


@pytest.mark.simulator_only("counts on the fake's storage sizes (a directory storage of 100GiB)")
def test_growing_a_disk_asks_for_the_growth_only(lab: Lab, pve: TestPve) -> None:
    _, result = lab.apply(_stack())
    assert result.ok, failures(result)
    with lab.engine(_stack(size="10GiB")) as engine:
        pools = {row.pool: row for row in engine.capacity().pools}
    assert pools["local-lvm@pve1"].plan == 6 * GIB
    assert pools["lab_big@pve1"].plan == 0
