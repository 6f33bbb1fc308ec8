"""Snapshots of XenServer guests through the CLI, on the XAPI simulator: create (a
checkpoint of a running guest), list, revert (a disk change undone), delete, and a
destroy that leaves no snapshot VM or disk behind.

What the pool holds is read from the simulator's records, never from the provider.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from support.xapi import GiB, XapiSimulator
from test_xapi_simulator import connect
from typer.testing import CliRunner
from xapi_lab import NET, Lab, failures

from provisioner.cli.app import app
from provisioner.core.address import Address
from provisioner.plan.planner import PlanOptions
from provisioner.state.local import SQLiteStore

pytestmark = [pytest.mark.integration, pytest.mark.simulator_only(
    "reads the simulator's records and disk contents")]

STACK = f"""
guests:
  web:
    provider: xcp
    clone: debian-12-cloud
    memory: 1GiB
    disks: [{{size: 10GiB}}]
    networks: [{{host_network: {NET}}}]
    cloud_init: {{user_data: "#cloud-config\\nhostname: web\\n"}}
  db:
    provider: xcp
    clone: debian-12-cloud
    memory: 1GiB
    power: stopped
    disks: [{{size: 10GiB}}]
"""


def cli(lab: Lab, *args: str) -> tuple[int, str]:
    result = CliRunner().invoke(app, [*args, str(lab.root), "--state",
                                      str(lab.root / "state.db")])
    return result.exit_code, result.output


def snapshots_of(sim: XapiSimulator, vm: str) -> dict[str, dict[str, Any]]:
    return {ref: record for ref, record in sim.objects("VM").items()
            if record["is_a_snapshot"] and record["snapshot_of"] == vm}


def first_disk(sim: XapiSimulator, vm: dict[str, Any]) -> str:
    vbds = sim.objects("VBD")
    return next(vbds[v]["VDI"] for v in vm["VBDs"] if vbds[v]["userdevice"] == "0")


def test_create_list_revert_delete(lab: Lab, xapi_sim: XapiSimulator) -> None:
    _, result = lab.apply(STACK)
    assert result.ok, failures(result)
    web_ref, web = lab.vm("web")
    disk = first_disk(xapi_sim, web)
    xapi_sim.vdi_contents[disk] = b"as it was"

    code, out = cli(lab, "snapshot", "create", "before")
    assert code == 0, out
    assert "guests.web: took snapshot before (disks and memory)" in out
    assert "guests.db: took snapshot before (disks)" in out
    (snap_ref, snap), = snapshots_of(xapi_sim, web_ref).items()
    assert snap["name_label"] == "before" and snap["power_state"] == "Suspended"
    with SQLiteStore(lab.root / "state.db") as store:
        sizes = {str(r.address): r.size for r in store.snapshots()}
    # web's: its disk, its config drive (1 MiB) and its memory (1 GiB)
    assert sizes == {"guests.db": 10 * GiB, "guests.web": 11 * GiB + 1024**2}, sizes
    assert lab.left() == ["guests.db (db)", "guests.web (web)"]  # no snapshot as a guest
    assert not lab.plan(STACK).has_changes

    code, out = cli(lab, "snapshot", "list")
    assert code == 0, out
    assert [line.split()[:2] for line in out.splitlines()[1:]] == [
        ["guests.db", "before"], ["guests.web", "before"]], out
    code, out = cli(lab, "snapshot", "list", "--format", "json")
    assert code == 0, out
    listed = {guest["address"]: guest["snapshots"] for guest in json.loads(out)["guests"]}
    assert [(s["name"], s["size"], s["memory"], s["power_after_revert"])
            for s in listed["guests.web"]] == [("before", 11 * GiB + 1024**2, True, "running")]
    assert [(s["size"], s["power_after_revert"]) for s in listed["guests.db"]] == [
        (10 * GiB, "stopped")]
    assert listed["guests.db"][0]["created"].endswith("Z")

    xapi_sim.set_field(disk, "virtual_size", 20 * GiB)  # the experiment: a bigger disk
    xapi_sim.vdi_contents[disk] = b"changed"
    code, out = cli(lab, "snapshot", "revert", "before", "--auto-approve")
    assert code == 0, out
    assert "guests.web: reverted to before, now running" in out
    assert "guests.db: reverted to before, now stopped" in out
    _, web = lab.vm("web")
    back = first_disk(xapi_sim, web)
    assert back != disk and xapi_sim.objects("VDI")[back]["virtual_size"] == 10 * GiB
    assert xapi_sim.vdi_contents[back] == b"as it was"
    assert web["power_state"] == "Running" and web["suspend_VDI"] == "OpaqueRef:NULL"
    assert lab.left() == ["guests.db (db)", "guests.web (web)"]
    assert not lab.plan(STACK).has_changes, "a revert to what the stack says is no change"

    code, out = cli(lab, "snapshot", "delete", "before", "--target", "guests.db")
    assert code == 0 and "guests.db: snapshot before is gone" in out, out
    db_ref, _ = lab.vm("db")
    assert snapshots_of(xapi_sim, db_ref) == {}
    kept = xapi_sim.objects("VM")[snap_ref]  # web's is still there, with all it holds
    vbds = xapi_sim.objects("VBD")
    held = {vbds[v]["VDI"] for v in kept["VBDs"]} | {kept["suspend_VDI"]}
    assert {ref for ref, r in xapi_sim.objects("VDI").items() if r["is_a_snapshot"]} == held
    assert len(held) == 3  # its disk, its config drive, its memory


def test_a_destroyed_guest_takes_its_snapshots_along(lab: Lab, xapi_sim: XapiSimulator) -> None:
    _, result = lab.apply(STACK)
    assert result.ok, failures(result)
    for name in ("one", "two"):
        code, out = cli(lab, "snapshot", "create", name)
        assert code == 0, out
    assert len([r for r in xapi_sim.objects("VM").values() if r["is_a_snapshot"]]) == 4
    result = lab.destroy(STACK)
    assert result.ok, failures(result)
    assert lab.owned() == []  # no snapshot VM or disk carries the stack's marker
    assert [r["name_label"] for r in xapi_sim.objects("VM").values() if r["is_a_snapshot"]] \
        == []
    assert [r["name_label"] for r in xapi_sim.objects("VDI").values()
            if r["is_a_snapshot"]] == []
    with SQLiteStore(lab.root / "state.db") as store:
        assert store.snapshots() == []


def test_snapshot_disks_left_without_their_snapshot_are_not_leftovers(
        lab: Lab, xapi_sim: XapiSimulator) -> None:
    """XAPI's VM.destroy keeps a VM's disks: a snapshot VM destroyed by another tool
    leaves its disks, which carry the guest's disk marker. They are the snapshot's
    space, not pieces of an interrupted run: no plan deletes them."""
    _, result = lab.apply(STACK)
    assert result.ok, failures(result)
    code, out = cli(lab, "snapshot", "create", "before", "--target", "guests.db")
    assert code == 0, out
    db_ref, _ = lab.vm("db")
    (snap_ref, _), = snapshots_of(xapi_sim, db_ref).items()
    session = connect(xapi_sim)
    try:
        session.xenapi.VM.destroy(snap_ref)
    finally:
        session.xenapi.session.logout()
    assert [r["name_label"] for r in xapi_sim.objects("VDI").values() if r["is_a_snapshot"]
            and r["VBDs"] == []] == ["debian-12-cloud disk 0"]
    assert lab.left() == ["guests.db (db)", "guests.web (web)"]
    assert not lab.plan(STACK).has_changes


def test_the_plan_says_a_replaced_guest_loses_its_snapshots(lab: Lab,
                                                             xapi_sim: XapiSimulator) -> None:
    _, result = lab.apply(STACK)
    assert result.ok, failures(result)
    code, out = cli(lab, "snapshot", "create", "before", "--target", "guests.db")
    assert code == 0, out
    code, out = cli(lab, "plan")
    assert code == 0, out
    assert "Note: guests.db keeps 1 snapshot (10GiB): it holds disk space until deleted" \
        in out, out
    old_ref, _ = lab.vm("db")
    replace = PlanOptions(replace=frozenset({Address.parse("guests.db")}))
    plan, result = lab.apply(STACK, options=replace)
    assert result.ok, failures(result)
    assert [note.text for note in plan.snapshots] == [
        "guests.db is replaced: its 1 snapshot (10GiB) is deleted with it"]
    assert snapshots_of(xapi_sim, old_ref) == {}
    assert [r for r in xapi_sim.objects("VM").values() if r["is_a_snapshot"]] == []
    with SQLiteStore(lab.root / "state.db") as store:
        assert store.snapshots() == []
    assert lab.plan(STACK).snapshots == ()


def test_a_snapshot_the_sr_has_no_room_for_is_refused_and_leaves_nothing(
        lab: Lab, xapi_sim: XapiSimulator) -> None:
    _, result = lab.apply(STACK)
    assert result.ok, failures(result)
    nfs = xapi_sim.find("SR", "NFS shared")
    used = xapi_sim.objects("SR")[nfs]["physical_utilisation"]
    xapi_sim.set_field(nfs, "physical_size", used + GiB)  # room for no 10 GiB disk
    code, out = cli(lab, "snapshot", "create", "before")
    assert code == 1, out
    for guest in ("db", "web"):
        assert f"Error: guests.{guest}: VM '{guest}': VM." in out, out
    assert out.count("SR_FULL: the storage repository has no room for it") == 2, out
    assert out.count("hint: a snapshot copies the guest's disks") == 2, out
    assert [r for r in xapi_sim.objects("VM").values() if r["is_a_snapshot"]] == []
    assert xapi_sim.objects("SR")[nfs]["physical_utilisation"] == used
    with SQLiteStore(lab.root / "state.db") as store:
        assert store.snapshots() == []
