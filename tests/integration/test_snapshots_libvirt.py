"""The snapshot commands, run in-process on libvirt's test driver (test:///default is
one hypervisor for the whole process, so the CLI's own connection sees what the
test applied): create, list, revert (asking first), delete, and a destroy of
guests that have snapshots."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import libvirt
import pytest
from support.libvirt_node import write_stack
from typer.testing import CliRunner

from provisioner.apply.progress import CollectingProgress as Recorder
from provisioner.cli.app import app
from provisioner.engine import Engine
from provisioner.plan.planner import PlanOptions
from provisioner.stack.loader import load_stack
from provisioner.state.local import SQLiteStore
from provisioner.state.store import SnapshotRecord

pytestmark = pytest.mark.simulator_only(
    "runs on libvirt's test driver, shared by the process with the CLI it runs in-process")

URI = "test:///default"


def _body(prefix: str) -> str:
    return f"""
volumes:
  rawdata: {{ provider: kvm, size: 1GiB, format: raw }}
guests:
  {prefix}a: {{ provider: kvm, memory: 256MiB, disks: [ {{ size: 1GiB }} ] }}
  {prefix}b: {{ provider: kvm, memory: 256MiB, power: stopped, disks: [ {{ size: 1GiB }} ] }}
  {prefix}raw:
    provider: kvm
    memory: 256MiB
    disks: [ {{ size: 1GiB }}, {{ volume: rawdata }} ]
"""


@pytest.fixture
def lab(tmp_path: Path, conn: libvirt.virConnect) -> Iterator[tuple[Path, str]]:
    """A stack with a running guest, a stopped one and one with a raw volume, applied.
    ``conn`` is open for the whole test: libvirt frees test:///default's state when its
    last connection closes (between the engine's and the CLI's, when nothing else of
    the process happens to hold one), which made this test fail now and then."""
    prefix = "s" + uuid.uuid4().hex[:6]
    write_stack(tmp_path, f"""apiVersion: provisioner/v1
stack: {prefix}
providers:
  kvm: {{ type: libvirt, uri: "{URI}", pool: default-pool }}
{_body(prefix)}""")
    with Engine(load_stack(tmp_path)) as engine:
        result = engine.apply(engine.plan(), Recorder())
        assert result.ok, [r.message for r in result.results]
    yield tmp_path, prefix
    with Engine(load_stack(tmp_path)) as engine:
        result = engine.apply(engine.plan(PlanOptions(destroy=True)), Recorder(),
                              command="destroy")
        assert result.ok, [r.message for r in result.results]


def cli(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(app, list(args))
    return result.exit_code, result.output


def recorded(stack: Path, name: str) -> list[SnapshotRecord]:
    """The snapshots the stack's state records."""
    with SQLiteStore(stack / ".provisioner" / f"{name}.db") as store:
        return store.snapshots()


@pytest.fixture
def conn() -> Iterator[libvirt.virConnect]:
    connection = libvirt.open(URI)
    yield connection
    connection.close()


def test_create_list_revert_delete(lab: tuple[Path, str], conn: libvirt.virConnect) -> None:
    stack, prefix = lab
    only = ["--target", f"guests.{prefix}a", "--target", f"guests.{prefix}b"]
    code, out = cli("snapshot", "create", "before", str(stack), *only)
    assert code == 0, out
    assert f"guests.{prefix}a: took snapshot before (disks and memory)" in out
    assert f"guests.{prefix}b: took snapshot before (disks)" in out
    assert [(str(r.address), r.name) for r in recorded(stack, prefix)] == [
        (f"guests.{prefix}a", "before"), (f"guests.{prefix}b", "before")]
    assert all(r.taken_at for r in recorded(stack, prefix))

    code, out = cli("snapshot", "list", str(stack))
    assert code == 0, out
    lines = [line for line in out.splitlines() if "before" in line]
    assert len(lines) == 2 and "memory" in lines[0] and "memory" not in lines[1], out

    code, out = cli("snapshot", "create", "before", str(stack), "--target", f"guests.{prefix}a")
    assert code == 1 and "already has a snapshot named before" in out, out

    running = conn.lookupByName(f"{prefix}a")
    running.destroy()  # the experiment: it was stopped
    assert not running.isActive()

    code, out = cli("snapshot", "revert", "before", str(stack), *only)
    assert code == 1 and "refusing to revert without a terminal" in out, out
    assert not running.isActive()  # nothing done without a confirmation

    code, out = cli("snapshot", "revert", "before", str(stack), *only, "--auto-approve")
    assert code == 0, out
    assert f"guests.{prefix}a  (taken " in out and "stopped -> running" in out, out
    assert f"guests.{prefix}a: reverted to before, now running" in out
    assert f"guests.{prefix}b: reverted to before, now stopped" in out
    assert running.isActive()

    code, out = cli("snapshot", "delete", "before", str(stack), *only)
    assert code == 0 and f"guests.{prefix}a: snapshot before is gone" in out, out
    assert running.listAllSnapshots(0) == []
    assert recorded(stack, prefix) == []
    code, out = cli("snapshot", "delete", "before", str(stack), *only)
    assert code == 0, out  # already gone is success
    code, out = cli("snapshot", "list", str(stack))
    assert code == 0 and "No snapshots." in out, out


def test_a_guest_with_a_raw_volume_is_refused_and_the_others_are_taken(
        lab: tuple[Path, str], conn: libvirt.virConnect) -> None:
    stack, prefix = lab
    code, out = cli("snapshot", "create", "s1", str(stack))
    assert code == 1, out
    assert f"Error: guests.{prefix}raw: disk vdb" in out and "is raw" in out, out
    assert "Traceback" not in out
    assert [s.getName() for s in conn.lookupByName(f"{prefix}a").listAllSnapshots(0)] == ["s1"]
    assert conn.lookupByName(f"{prefix}raw").listAllSnapshots(0) == []


def test_revert_refuses_when_a_guest_lacks_the_snapshot(lab: tuple[Path, str],
                                                        conn: libvirt.virConnect) -> None:
    stack, prefix = lab
    code, out = cli("snapshot", "create", "s1", str(stack), "--target", f"guests.{prefix}a")
    assert code == 0, out
    conn.lookupByName(f"{prefix}a").destroy()
    code, out = cli("snapshot", "revert", "s1", str(stack), "--auto-approve")
    assert code == 1, out
    assert f"no snapshot named s1 on guests.{prefix}b, guests.{prefix}raw" in out, out
    assert not conn.lookupByName(f"{prefix}a").isActive()  # nothing was reverted


def test_destroy_deletes_guests_with_snapshots(tmp_path: Path, conn: libvirt.virConnect) -> None:
    prefix = "d" + uuid.uuid4().hex[:6]
    write_stack(tmp_path, f"""apiVersion: provisioner/v1
stack: {prefix}
providers:
  kvm: {{ type: libvirt, uri: "{URI}", pool: default-pool }}
guests:
  {prefix}a: {{ provider: kvm, memory: 256MiB, disks: [ {{ size: 1GiB }} ] }}
""")
    with Engine(load_stack(tmp_path)) as engine:
        assert engine.apply(engine.plan(), Recorder()).ok
    code, out = cli("snapshot", "create", "s1", str(tmp_path))
    assert code == 0, out
    assert [r.name for r in recorded(tmp_path, prefix)] == ["s1"]
    with Engine(load_stack(tmp_path)) as engine:
        result = engine.apply(engine.plan(PlanOptions(destroy=True)), Recorder(),
                              command="destroy")
        assert result.ok, [r.message for r in result.results]
    assert recorded(tmp_path, prefix) == []  # the records go with the guest
    assert f"{prefix}a" not in conn.listDefinedDomains() + [
        d.name() for d in conn.listAllDomains(0)]


@pytest.mark.parametrize(("args", "message"), [
    (("create", "-bad"), "not a valid snapshot name"),
    (("create", "ok", "--target", "guests.nope"), "--target guests.nope: no such guest"),
    (("delete", "ok", "--target", "networks.x"), "snapshots are taken of guests only"),
])
def test_usage_errors_are_one_line_with_a_hint(lab: tuple[Path, str], args: tuple[str, ...],
                                               message: str) -> None:
    stack, _ = lab
    command, name, *rest = args
    code, out = cli("snapshot", command, "--", name, str(stack), *rest) if name.startswith(
        "-") else cli("snapshot", command, name, str(stack), *rest)
    assert code == 1, out
    assert message in out and "hint:" in out and "Traceback" not in out, out
