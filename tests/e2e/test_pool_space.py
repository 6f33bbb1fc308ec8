"""A pool's free space as a plan reads it is current: libvirt updates a pool's figures
when volumes are made or deleted through it, not when a file in it grows (what a guest
writes into its qcow2 disk, the internal snapshots kept there); the capacity read
refreshes the pool first. On the real daemon, with a `dir` pool in the test's
directory."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

from support.e2e import E2EStack

GROWTH = 256 * 1024 * 1024


def test_a_file_grown_in_a_pool_is_counted_by_the_next_capacity_read(
        new_stack: Callable[..., E2EStack], tmp_path: Path) -> None:
    directory = tmp_path / "pool"
    directory.mkdir()
    stack = new_stack()
    stack.write(f"pools:\n  ps-store: {{ provider: kvm, path: {directory} }}\n")
    stack.apply()

    def available() -> int:
        with stack.engine() as engine:
            pools = engine.providers()["kvm"].capacity().pools
        return next(p.available for p in pools if p.pool.endswith("ps-store"))

    before = available()
    with open(directory / "grown.img", "wb") as grown:  # as a qcow2 file grows
        grown.write(os.urandom(1024 * 1024) * (GROWTH // (1024 * 1024)))
        grown.flush()
        os.fsync(grown.fileno())
    after = available()
    assert before - after >= GROWTH * 0.8, (before, after)
    (directory / "grown.img").unlink()
    stack.destroy()
