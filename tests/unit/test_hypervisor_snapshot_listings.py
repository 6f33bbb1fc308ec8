"""Snapshot listings as Proxmox VE and vSphere give them, read into SnapshotInfo
(pure): what is a snapshot, when it was taken, whether it holds memory, and the
order (oldest first, ties broken by the tree)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

pytest.importorskip("proxmoxer")
vim = pytest.importorskip("pyVmomi").vim

from provisioner.providers.proxmox.snapshots import parse_snapshots, running_now  # noqa: E402
from provisioner.providers.vsphere.snapshots import flatten, info_of  # noqa: E402

T0 = 1_780_000_000


def test_pve_listing_leaves_out_current_and_reads_time_and_memory() -> None:
    listing = [
        {"name": "current", "running": 1, "parent": "b", "description": "You are here!"},
        {"name": "b", "snaptime": T0 + 60, "vmstate": 1, "parent": "a", "description": ""},
        {"name": "a", "snaptime": str(T0), "description": "taken by provisioner"},
    ]
    infos = parse_snapshots(listing)
    assert [(i.name, i.memory) for i in infos] == [("a", False), ("b", True)]
    assert infos[0].created == datetime.fromtimestamp(T0, UTC)
    assert running_now(listing) is True
    assert running_now([{"name": "current", "running": 0}]) is False
    assert parse_snapshots(None) == [] and running_now(None) is False


def test_pve_snapshots_of_one_second_are_ordered_by_the_tree() -> None:
    listing = [{"name": "zz-child", "snaptime": T0, "parent": "mm"},
               {"name": "mm", "snaptime": T0, "parent": "aa-root"},
               {"name": "aa-root", "snaptime": T0},
               {"name": "loop", "snaptime": T0 + 1, "parent": "loop"}]
    assert [i.name for i in parse_snapshots(listing)] == ["aa-root", "mm", "zz-child", "loop"]


def _node(name: str, ident: int, when: datetime, state: str = "poweredOff",
          children: list[object] | None = None) -> object:
    return vim.vm.SnapshotTree(name=name, id=ident, createTime=when, state=state,
                               childSnapshotList=children or [])


def test_vsphere_tree_is_flattened_oldest_first_with_memory_from_the_state() -> None:
    start = datetime(2026, 12, 4, 8, 0, tzinfo=timezone(timedelta(hours=2)))
    tree = [_node("root", 1, start, "poweredOn", [
        _node("late", 4, start + timedelta(minutes=9)),
        _node("early", 2, start + timedelta(minutes=1), children=[
            _node("same-time", 3, start + timedelta(minutes=1))])])]
    infos = [info_of(node) for node in flatten(tree)]
    assert [i.name for i in infos] == ["root", "early", "same-time", "late"]
    assert [i.memory for i in infos] == [True, False, False, False]
    assert infos[0].created == datetime(2026, 12, 4, 6, 0, tzinfo=UTC)
    assert info_of(_node("naive", 1, datetime(2026, 1, 2, 3, 4, 5))).created == \
        datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
    assert flatten(None) == []
