"""Crash recovery: `provisioner apply` SIGKILLed at a named point (before and after
each kind of provider call, and inside them), then a second `apply` converges to
exactly the declared objects: no orphan, no duplicate, no manual state surgery.

The kill comes from the test hook of provisioner/testing.py
(PROVISIONER_TEST_KILL_AT), so the process dies exactly there, with other calls
of the same parallel apply in flight.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import psycopg
import pytest
from support.e2e import PROVISIONER, E2EStack, booted, describe, serial_log, stack_objects

from provisioner.core.address import Kind

STACK = """
networks:
  cr-lab: {{ provider: kvm, mode: nat, cidr: 10.79.0.0/24 }}
volumes:
  cr-data: {{ provider: kvm, size: 64MiB, format: raw }}
guests:
  cr-node:
    provider: kvm
    count: {count}
    memory: {memory}
    disks: [ {{ size: 64MiB }}, {{ volume: cr-data }} ]
    networks: [ {{ network: cr-lab }} ]
    cloud_init: {{ user_data: "#cloud-config\\n" }}
    options: {{ BOOT_OPTIONS }}
"""

CREATE_POINTS = [
    "before:create:networks.cr-lab",
    "libvirt:network-defined:networks.cr-lab",
    "after:create:networks.cr-lab",
    "recorded:create:volumes.cr-data",
    "before:create:guests.cr-node-1",
    "libvirt:disks-created:guests.cr-node-1",
    "libvirt:seed-uploaded:guests.cr-node-1",
    "libvirt:defined:guests.cr-node-1",
    "after:create:guests.cr-node-1",
    "recorded:create:guests.cr-node-1",
]
UPDATE_POINTS = ["before:update:guests.cr-node-0", "after:update:guests.cr-node-0"]
DELETE_POINTS = [
    "before:delete:guests.cr-node-3",
    "libvirt:disks-deleted:guests.cr-node-3",
    "after:delete:guests.cr-node-3",
]


def _apply(stack: E2EStack, kill_at: str | None = None) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "PROVISIONER_TEST_KILL_AT"}
    if kill_at:
        env["PROVISIONER_TEST_KILL_AT"] = kill_at
    return subprocess.run([PROVISIONER, "apply", str(stack.directory), "--auto-approve"],
                          capture_output=True, text=True, timeout=300, check=False, env=env,
                          stdin=subprocess.DEVNULL)


def _expected(stack: E2EStack, count: int) -> list[str]:
    prefix = f"default/{stack.name}.kvm"
    objects = ["network cr-lab", f"volume {prefix}__cr-data.img"]
    for index in range(count):
        objects += [f"domain cr-node-{index}", f"volume {prefix}__cr-node-{index}__disk0.qcow2",
                    f"volume {prefix}__cr-node-{index}__seed.iso"]
    return sorted(objects)


def _converges(stack: E2EStack, conn: Any, count: int, point: str) -> None:
    """The second apply finishes the work; the daemon holds exactly the stack."""
    second = _apply(stack)
    assert second.returncode == 0, f"after a kill at {point}:\n{second.stdout}{second.stderr}"
    assert sorted(stack_objects(conn, stack.name)) == _expected(stack, count), point
    plan = stack.plan()
    assert not plan.has_changes, f"after a kill at {point}: {describe(plan)}"
    shown = json.loads(stack.cli("show", "--json").stdout)
    assert shown["unresolved"] == [], f"journal left pending after {point}"
    assert sorted(r["address"] for r in shown["resources"]) == sorted(
        ["networks.cr-lab", "volumes.cr-data", *[f"guests.cr-node-{i}" for i in range(count)]])


def _killed(stack: E2EStack, point: str) -> None:
    first = _apply(stack, kill_at=point)
    assert first.returncode == -signal.SIGKILL, (
        f"the apply was not killed at {point} (exit {first.returncode}):\n{first.stdout}"
        f"{first.stderr}")


@pytest.mark.parametrize("point", CREATE_POINTS)
def test_a_create_killed_anywhere_converges(
        point: str, new_stack: Callable[..., E2EStack], conn: Any) -> None:
    stack = new_stack(f"-c{CREATE_POINTS.index(point)}")
    stack.write(STACK.format(count=4, memory="128MiB"))
    _killed(stack, point)
    _converges(stack, conn, 4, point)
    stack.destroy()


@pytest.mark.parametrize("point", UPDATE_POINTS)
def test_an_update_killed_anywhere_converges(
        point: str, new_stack: Callable[..., E2EStack], conn: Any) -> None:
    stack = new_stack(f"-u{UPDATE_POINTS.index(point)}")
    stack.write(STACK.format(count=4, memory="128MiB"))
    stack.apply()
    for guest in stack.live().values():  # a clean shutdown needs the guest's ACPI
        if guest.address.kind is Kind.GUEST:  # daemon: else each waits the hard-stop timeout
            booted(serial_log(guest))
    stack.write(STACK.format(count=4, memory="160MiB"))
    _killed(stack, point)
    _converges(stack, conn, 4, point)
    assert conn.lookupByName("cr-node-0").info()[1] == 160 * 1024
    stack.destroy()


@pytest.mark.parametrize("point", DELETE_POINTS)
def test_a_delete_killed_anywhere_converges(
        point: str, new_stack: Callable[..., E2EStack], conn: Any) -> None:
    stack = new_stack(f"-d{DELETE_POINTS.index(point)}")
    stack.write(STACK.format(count=4, memory="128MiB"))
    stack.apply()
    stack.write(STACK.format(count=3, memory="128MiB"))
    _killed(stack, point)
    _converges(stack, conn, 3, point)
    stack.destroy()


def test_a_lost_postgresql_connection_mid_apply_converges(
        new_stack: Callable[..., E2EStack], conn: Any, pg_dsn: str, tmp_path: Path) -> None:
    """The state server drops every connection of the run while guests are being
    created: the run stops with a clear state error, and the next apply finishes."""
    stack = new_stack("-pg")
    stack.write(STACK.format(count=4, memory="128MiB"))
    marker = tmp_path / "paused"
    env = {**os.environ, "PROVISIONER_PG_DSN": pg_dsn,
           "PROVISIONER_TEST_PAUSE_AT": "after:create:guests.cr-node-1",
           "PROVISIONER_TEST_PAUSE_FILE": str(marker)}
    command = [PROVISIONER, "apply", str(stack.directory), "--auto-approve",
               "--state-backend", "postgres"]
    run = subprocess.Popen(command, env=env, text=True, stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, stdin=subprocess.DEVNULL)
    deadline = time.monotonic() + 120
    while not marker.exists() and run.poll() is None and time.monotonic() < deadline:
        time.sleep(0.05)
    assert marker.exists(), "the apply never reached the pause point"
    with psycopg.connect(pg_dsn, autocommit=True) as admin:
        ended = admin.execute(
            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
            "WHERE application_name = %s", (f"provisioner {stack.name}",)).fetchone()
    assert ended is not None and ended[0] >= 1  # the store's connections were cut
    marker.unlink()
    out, err = run.communicate(timeout=300)
    assert run.returncode == 1, out + err
    assert "Traceback" not in err and "state" in (out + err).lower()
    second = subprocess.run(command, env={k: v for k, v in env.items()
                                          if not k.startswith("PROVISIONER_TEST")},
                            capture_output=True, text=True, timeout=300, check=False)
    assert second.returncode == 0, second.stdout + second.stderr
    assert sorted(stack_objects(conn, stack.name)) == _expected(stack, 4)
    shown = json.loads(subprocess.run(
        [PROVISIONER, "show", str(stack.directory), "--json", "--state-backend", "postgres"],
        env={**os.environ, "PROVISIONER_PG_DSN": pg_dsn}, capture_output=True, text=True,
        check=True).stdout)
    assert shown["unresolved"] == []
    assert len(shown["resources"]) == 6
    with psycopg.connect(pg_dsn, autocommit=True) as admin:
        plan = subprocess.run(
            [PROVISIONER, "plan", str(stack.directory), "--detailed-exitcode",
             "--state-backend", "postgres"], env={**os.environ, "PROVISIONER_PG_DSN": pg_dsn},
            capture_output=True, text=True, check=False)
        assert plan.returncode == 0, plan.stdout + plan.stderr
        admin.execute("DELETE FROM provisioner_applied WHERE stack = %s", (stack.name,))
    stack.destroy()
