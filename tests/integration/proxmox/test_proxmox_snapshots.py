"""The snapshot commands on Proxmox VE, through the CLI in-process: create on a running
and a stopped guest, list, revert (asking first), delete; what Proxmox refuses.

Changes made "on the hypervisor" after a snapshot go through the Proxmox API
(proxmoxer, the lab's token), as another client would make them; what the tests
check is read back through the API and the cluster's task history, so the
unmarked tests run on a real cluster too (``PROVISIONER_TEST_PVE``). fakepve keeps
a snapshot's config and restores it on rollback, as Proxmox does; it does not
resume a guest from its saved memory by itself (Proxmox does): the provider's
``start=1`` for a snapshot with memory is what brings it back running there.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from typing import Any

import proxmoxer
import pytest
from pve_harness import (
    TOKEN_ENV,
    TOKEN_ID,
    Lab,
    Served,
    TestPve,
    failures,
    guest,
    task_types,
)
from support.snapshot_cli import (
    cli,
    list_then_create_calls,
    recorded,
    revert_to_zeta,
    revert_to_zeta_approved,
    take_zeta_then_alpha,
)

STACK = """
guests:
  web:
    provider: pve
    clone: debian-12
    node: pve1
    memory: 1GiB
    disks: [ { size: 4GiB } ]
    networks: [ { bridge: vmbr0 } ]
  db:
    provider: pve
    clone: debian-12
    node: pve1
    memory: 1GiB
    power: stopped
    disks: [ { size: 4GiB } ]
    networks: [ { bridge: vmbr0 } ]
"""


@pytest.fixture
def applied(lab: Lab) -> Iterator[Lab]:
    """The lab with a running guest (web) and a stopped one (db)."""
    _, result = lab.apply(STACK)
    assert result.ok, failures(result)
    yield lab


@pytest.fixture
def api(lab: Lab, pve: Any) -> Any:
    """Another API client of the cluster, for changes made behind the stack's back."""
    host = pve.url.removeprefix("https://").rstrip("/")
    user, _, token = getattr(pve, "token_id", TOKEN_ID).partition("!")
    return proxmoxer.ProxmoxAPI(host, user=user, token_name=token,
                                token_value=os.environ[TOKEN_ENV],
                                verify_ssl=str(lab.cafile) or True)


def wait(api: Any, node: str, upid: str) -> None:
    """Wait for a task another client started."""
    while api.nodes(node).tasks(upid).status.get()["status"] != "stopped":
        time.sleep(0.05)


def held(api: Any, vm: Any) -> dict[str, bool]:
    """Each snapshot of ``vm`` as Proxmox lists it: whether it holds memory (vmstate)."""
    listing = api.nodes(vm.node).qemu(vm.vmid).snapshot.get()
    return {s["name"]: bool(int(s.get("vmstate") or 0)) for s in listing
            if s["name"] != "current"}


def memory(pve: Any, name: str) -> str:
    return str(guest(pve, name).config["memory"])


def test_create_list_revert_delete(applied: Lab, pve: TestPve, api: Any) -> None:
    lab, web, db = applied, guest(pve, "web"), guest(pve, "db")
    take_zeta_then_alpha(lab.root)
    assert held(api, web) == {"zeta": True, "alpha": True}  # running: memory too
    assert held(api, db) == {"zeta": False}

    # the experiment: memory changed through the API, web stopped, db started
    api.nodes(db.node).qemu(db.vmid).config.put(memory=2048)
    api.nodes(web.node).qemu(web.vmid).config.put(memory=3072)
    wait(api, web.node, api.nodes(web.node).qemu(web.vmid).status.stop.post())
    wait(api, db.node, api.nodes(db.node).qemu(db.vmid).status.start.post())
    assert memory(pve, "db") == "2048" and guest(pve, "web").status == "stopped"

    revert_to_zeta(lab.root)
    assert "qmrollback" not in task_types(pve, web.vmid)
    revert_to_zeta_approved(lab.root)
    assert guest(pve, "web").status == "running" and guest(pve, "db").status == "stopped"
    assert memory(pve, "web") == "1024" and memory(pve, "db") == "1024"
    assert not guest(pve, "web").pending
    assert task_types(pve, web.vmid).count("qmrollback") == 1

    code, out = cli(lab.root, "delete", "zeta")
    assert code == 0 and "guests.web: snapshot zeta is gone" in out, out
    assert recorded(lab.root) == [("guests.web", "alpha")]
    deletes = task_types(pve, web.vmid).count("qmdelsnapshot")
    code, out = cli(lab.root, "delete", "zeta")
    assert code == 0, out  # already gone is success, and no task is started for it
    assert task_types(pve, web.vmid).count("qmdelsnapshot") == deletes
    code, out = cli(lab.root, "delete", "alpha")
    assert code == 0, out
    code, out = cli(lab.root, "list")
    assert code == 0 and "No snapshots." in out, out


def test_a_name_already_used_is_refused_before_any_task(applied: Lab, pve: TestPve) -> None:
    web = guest(pve, "web")
    assert cli(applied.root, "create", "s1", "--target", "guests.web")[0] == 0
    taken = task_types(pve, web.vmid).count("qmsnapshot")
    code, out = cli(applied.root, "create", "s1")
    assert code == 1, out
    assert "Error: guests.web: snapshot s1 exists already\n  hint: pick another name" in out
    assert "guests.db: took snapshot s1 (disks)" in out  # the other guest goes on
    assert task_types(pve, web.vmid).count("qmsnapshot") == taken
    assert "Traceback" not in out


def test_revert_refuses_when_a_guest_lacks_the_snapshot(applied: Lab, pve: TestPve,
                                                        api: Any) -> None:
    web = guest(pve, "web")
    assert cli(applied.root, "create", "s1", "--target", "guests.web")[0] == 0
    api.nodes(web.node).qemu(web.vmid).config.put(memory=2048)
    code, out = cli(applied.root, "revert", "s1", "--auto-approve")
    assert code == 1, out
    assert "no snapshot named s1 on guests.db" in out and "hint:" in out, out
    assert "qmrollback" not in task_types(pve, web.vmid)  # nothing was reverted
    assert str(guest(pve, "web").pending.get("memory", guest(pve, "web").config["memory"])) \
        == "2048"


@pytest.mark.simulator_only("injects PVE's own refusals and lock timeouts into fakepve")
@pytest.mark.parametrize(("error", "said", "hint"), [
    ("snapshot_feature_not_available", "cannot take snapshot s1: snapshot feature is not "
                                       "available", "LVM-thin, ZFS, Ceph RBD, BTRFS"),
    ("you_can_t_take_snapshot", "cannot take snapshot s1: you can't take a snapshot if it's "
                                "a template", "no snapshots of templates"),
    ("cannot_live_migrate_snapshot_ram", "cannot take snapshot s1: Cannot live-migrate, "
                                         "snapshot (with RAM)", "without memory"),
    ("snapshot_name_already_used", "snapshot s1 exists already", "pick another name"),
])
def test_refusals_name_the_guest_with_a_hint(applied: Lab, pve: TestPve, error: str,
                                             said: str, hint: str) -> None:
    """PVE's words for what it refuses (the name: another client took it between our
    look and the task), each with what to do; the other guest's snapshot is taken."""
    web = guest(pve, "web")
    pve.fail("POST", f"/nodes/{web.node}/qemu/{web.vmid}/snapshot", error=error, times=1)
    code, out = cli(applied.root, "create", "s1")
    assert code == 1, out
    assert f"Error: guests.web: {said}" in out, out
    assert f"hint: {hint}" in out or hint in out.split("hint: ", 1)[1], out
    assert "Traceback" not in out and "end of the task log" not in out, out
    assert "guests.db: took snapshot s1" in out
    assert recorded(applied.root) == [("guests.db", "s1")]


@pytest.mark.simulator_only("injects config lock timeouts into fakepve")
def test_config_lock_timeouts_are_waited_out(applied: Lab, pve: TestPve) -> None:
    web = guest(pve, "web")
    for method, suffix in (("POST", "snapshot"), ("POST", "snapshot/s1/rollback"),
                           ("DELETE", "snapshot/s1")):
        pve.fail(method, f"/nodes/{web.node}/qemu/{web.vmid}/{suffix}",
                 error="config_lock_timeout", times=2)
        verb = {"snapshot": "create", "snapshot/s1/rollback": "revert"}.get(suffix, "delete")
        extra = ["--auto-approve"] if verb == "revert" else []
        code, out = cli(applied.root, verb, "s1", "--target", "guests.web", *extra)
        assert code == 0, out
    assert not pve.failures, "a fault was not consumed"
    assert [t for t in task_types(pve, web.vmid) if "snap" in t or "rollback" in t] == [
        "qmsnapshot", "qmrollback", "qmdelsnapshot"]


@pytest.mark.simulator_only("runs a backup on fakepve, and leaves a guest locked")
@pytest.mark.fakepve(time_scale=0.01)
def test_a_backup_lock_is_waited_out_and_one_that_outlasts_the_budget_is_named(
        applied: Lab, pve: TestPve, pve_loop: Served) -> None:
    web = guest(pve, "web")
    pve_loop.run(pve.backup(web.vmid, secs=60))  # 0.6 s of real time
    assert web.lock == "backup"
    code, out = cli(applied.root, "create", "s1", "--target", "guests.web")
    assert code == 0, out
    assert web.lock is None and task_types(pve, web.vmid).count("qmsnapshot") >= 2
    pve.snapshot_lock(web.vmid, "backup")
    applied.write(STACK, retry_timeout=1)
    code, out = cli(applied.root, "delete", "s1", "--target", "guests.web")
    assert code == 1, out
    assert "Error: guests.web: cannot delete snapshot s1: VM is locked (backup)\n" \
        "  hint: another task" in out, out


@pytest.mark.simulator_only("counts the provider's calls against fakepve's request log")
def test_calls_per_guest(applied: Lab, pve: TestPve) -> None:
    """Beyond the bulk read every command starts with: list reads one listing per
    guest; create reads it, starts one task, waits for it and reads the listing back
    (docs/providers/proxmox.md, "Snapshots")."""
    requests = len(pve.requests)
    with applied.engine(STACK) as engine:
        listed, created = list_then_create_calls(engine, "pve")
    assert listed == {"read": 2}
    # per guest: the listing, one poll of the task (fakepve's end at once), the read back
    assert created == {"read": 2 * 3, "write": 2}
    posts = [path for method, path, _ in pve.requests[requests:] if method != "GET"]
    assert sorted(path.rsplit("/", 1)[-1] for path in posts) == ["snapshot", "snapshot"]


CONTAINER = """
containers:
  app:
    provider: pve
    node: pve1
    template: local:vztmpl/debian-12-standard_12.7-1_amd64.tar.zst
    memory: 512MiB
    rootfs: { size: 4GiB }
    networks: [ { bridge: vmbr0 } ]
"""


def test_a_containers_snapshots_hold_its_disks(lab: Lab, pve: TestPve) -> None:
    """Through the provider: the snapshot commands take guests only. A running
    container's snapshot holds no memory, and a rollback leaves it stopped."""
    _, result = lab.apply(CONTAINER)
    assert result.ok, failures(result)
    with lab.engine(CONTAINER) as engine:
        provider = engine.providers()["pve"]
        (live,) = [o for o in engine.refresh()["pve"].managed if o.name == "app"]
        assert live.running
        taken = provider.snapshot_create(live, "s1")
        assert (taken.name, taken.memory) == ("s1", False) and taken.created is not None
        assert [s.name for s in provider.snapshots(live)] == ["s1"]
        after = provider.snapshot_revert(live, "s1")
        assert after.running is False
        provider.snapshot_delete(live, "s1")
        provider.snapshot_delete(live, "s1")
        assert provider.snapshots(live) == []
    ct = guest(pve, "app")
    assert task_types(pve, ct.vmid)[-3:] == ["vzsnapshot", "vzrollback", "vzdelsnapshot"]


@pytest.mark.simulator_only("injects PVE's refusal of a snapshot delete into fakepve")
def test_a_refused_delete_keeps_proxmox_words(applied: Lab, pve: TestPve) -> None:
    web = guest(pve, "web")
    assert cli(applied.root, "create", "s1", "--target", "guests.web")[0] == 0
    pve.fail("DELETE", f"/nodes/{web.node}/qemu/{web.vmid}/snapshot/s1",
             error="snapshot_needed_replication_job_run", times=1)
    code, out = cli(applied.root, "delete", "s1", "--target", "guests.web")
    assert code == 1, out
    assert "Error: guests.web: cannot delete snapshot s1: snapshot 's1' needed by " \
           "replication job" in out and "hint: Proxmox refused" in out, out
    assert recorded(applied.root) == [("guests.web", "s1")]
