"""The snapshot commands on a lab's stack, in-process, as the Proxmox and vSphere
integration tests run them: a stack directory with ``stack.yaml`` and its own
``state.db``, a running guest ``web`` and a stopped one ``db``.

The steps both providers' tests share are here, with what the CLI must print for
them; what the hypervisor holds after each step is checked by each test.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from typer.testing import CliRunner

from provisioner.cli.app import app
from provisioner.engine import Engine
from provisioner.snapshots import create, list_snapshots, pick_guests
from provisioner.state.local import SQLiteStore


def cli(root: Path, *args: str) -> tuple[int, str]:
    """``provisioner snapshot COMMAND ARGS... STACK --state STATE``: exit code, output."""
    command, *rest = args
    result = CliRunner().invoke(app, ["snapshot", command, *rest, str(root / "stack.yaml"),
                                      "--state", str(root / "state.db")])
    return result.exit_code, result.output


def recorded(root: Path) -> list[tuple[str, str]]:
    """The snapshots the stack's state records (address, name), sorted."""
    with SQLiteStore(root / "state.db") as store:
        return sorted((str(r.address), r.name) for r in store.snapshots())


def take_zeta_then_alpha(root: Path) -> list[list[str]]:
    """Snapshot zeta of both guests, then alpha of web; `snapshot list`'s rows after,
    split on blanks (GUEST NAME DATE TIME UTC HOLDS...), which must be oldest first."""
    code, out = cli(root, "create", "zeta")
    assert code == 0, out
    assert "guests.web: took snapshot zeta (disks and memory)" in out
    assert "guests.db: took snapshot zeta (disks)" in out
    code, out = cli(root, "create", "alpha", "--target", "guests.web")
    assert code == 0, out
    assert recorded(root) == [("guests.db", "zeta"), ("guests.web", "alpha"),
                              ("guests.web", "zeta")]
    code, out = cli(root, "list")
    assert code == 0, out
    rows = [line.split() for line in out.splitlines()[1:]]
    assert [(row[0], row[1], row[4]) for row in rows] == [
        ("guests.db", "zeta", "UTC"), ("guests.web", "zeta", "UTC"),
        ("guests.web", "alpha", "UTC")], out
    return rows


def revert_to_zeta(root: Path) -> None:
    """Revert without --auto-approve and without a terminal: refused (the caller checks
    on the hypervisor that nothing was done)."""
    code, out = cli(root, "revert", "zeta")
    assert code == 1 and "refusing to revert without a terminal" in out, out


def revert_to_zeta_approved(root: Path) -> None:
    """After web was stopped and db started: revert with --auto-approve shows each
    guest's power state now and after, and says what it did."""
    code, out = cli(root, "revert", "zeta", "--auto-approve")
    assert code == 0, out
    assert "~ guests.web  (taken " in out and "stopped -> running" in out, out
    assert "~ guests.db  (taken " in out and "running -> stopped" in out, out
    assert "guests.web: reverted to zeta, now running" in out
    assert "guests.db: reverted to zeta, now stopped" in out


def list_then_create_calls(engine: Engine, block: str) -> tuple[dict[str, int],
                                                                 dict[str, int]]:
    """The calls provider block ``block`` makes to list every guest's snapshots, then
    to take snapshot s1 of each, beyond the bulk read (by kind, each)."""
    stats = engine.providers()[block].stats
    guests = pick_guests(engine, frozenset())
    before = dict(stats.calls)
    list_snapshots(engine, guests)
    listed = calls_since(before, stats.calls)
    before = dict(stats.calls)
    outcomes = create(engine, guests, "s1")
    assert all(o.error is None for o in outcomes), [o.error for o in outcomes]
    return listed, calls_since(before, stats.calls)


def calls_since(before: dict[Any, int], after: dict[Any, int]) -> dict[str, int]:
    """The provider calls made between two readings of its stats, by kind."""
    return {str(kind.value): count - before.get(kind, 0) for kind, count in after.items()
            if count != before.get(kind, 0)}
