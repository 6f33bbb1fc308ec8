"""Guests begun ahead of their network, on the real daemon (Provider.create_ahead).

`provisioner apply` is paused inside the network's create (the test hook of
provisioner/testing.py, PROVISIONER_TEST_PAUSE_AT): the guests' disks are made
meanwhile, and the guests that reserve no address are defined (not started); a
guest with a fixed address is not defined until the network exists. Then the
network's start is made to fail (a network of the same range is started beside it
while the apply waits): the guests begun ahead remove their domains and disks and
are reported skipped, the daemon holds nothing of the stack, and the next apply
makes it all. An apply killed during the pause, its guests defined on a network
that does not exist yet, is finished by the next.
"""

from __future__ import annotations

import os
import subprocess
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from support.e2e import PROVISIONER, E2EStack, describe, stack_objects

pytestmark = pytest.mark.e2e

CIDR = "10.89.9"
STACK = f"""
networks:
  ah-lab: {{ provider: kvm, mode: nat, cidr: {CIDR}.0/24 }}
guests:
  ah-node:
    provider: kvm
    count: 2
    memory: 128MiB
    disks: [ {{ size: 64MiB }} ]
    networks: [ {{ network: ah-lab }} ]
  ah-fixed:
    provider: kvm
    memory: 128MiB
    disks: [ {{ size: 64MiB }} ]
    networks: [ {{ network: ah-lab, ip: {CIDR}.50 }} ]
"""
BLOCKER = (f"<network><name>ah-blocker</name><forward mode='nat'/>"
           f"<ip address='{CIDR}.1' netmask='255.255.255.0'/></network>")
PAUSE_AT = "libvirt:network-defined:networks.ah-lab"


def _paused_apply(stack: E2EStack, marker: Path) -> subprocess.Popen[str]:
    env = dict(os.environ, PROVISIONER_TEST_PAUSE_AT=PAUSE_AT,
               PROVISIONER_TEST_PAUSE_FILE=str(marker))
    process = subprocess.Popen([PROVISIONER, "apply", str(stack.directory), "--auto-approve",
                                "--no-color"], stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                               text=True, env=env, stdin=subprocess.DEVNULL)
    deadline = time.monotonic() + 60
    while not marker.exists():
        assert process.poll() is None, f"the apply ended before the pause:\n{process.stdout}"
        assert time.monotonic() < deadline, "the apply never reached the network's create"
        time.sleep(0.05)
    return process


def _made_while_paused(conn: Any, stack: E2EStack) -> list[str]:
    """The stack's domains and volumes once the 3 disks and the 2 definitions made
    during the pause exist (or after 30 s)."""
    deadline = time.monotonic() + 30
    while True:
        objects = sorted(o for o in stack_objects(conn, stack.name)
                         if o.startswith(("domain", "volume")))
        if len(objects) == 5 or time.monotonic() > deadline:
            return objects
        time.sleep(0.1)


def _check_made_while_paused(conn: Any, stack: E2EStack) -> None:
    prefix = f"volume default/{stack.name}.kvm__"
    assert _made_while_paused(conn, stack) == [
        "domain ah-node-0", "domain ah-node-1", f"{prefix}ah-fixed__disk0.qcow2",
        f"{prefix}ah-node-0__disk0.qcow2", f"{prefix}ah-node-1__disk0.qcow2"], (
        "not every disk, or not only the guests without a reservation, made ahead")
    assert not any(conn.lookupByName(f"ah-node-{i}").isActive() for i in range(2)), (
        "a guest was started before its network existed")


def test_guests_begun_ahead_of_a_failing_network_leave_nothing(
        new_stack: Callable[..., E2EStack], conn: Any, tmp_path: Path) -> None:
    stack = new_stack()
    stack.write(STACK)
    marker = tmp_path / "paused"
    process = _paused_apply(stack, marker)
    blocker = None
    try:
        _check_made_while_paused(conn, stack)
        blocker = conn.networkCreateXML(BLOCKER)
        marker.unlink()
        output, _ = process.communicate(timeout=180)
    finally:
        if process.poll() is None:
            process.kill()
    try:
        assert process.returncode == 1, output
        assert "create networks.ah-lab: " in output and "already in use" in output, output
        for guest in ("ah-node-0", "ah-node-1", "ah-fixed"):
            assert (f"skipped: create guests.{guest} (upstream create networks.ah-lab "
                    f"failed)") in output, output
        assert stack_objects(conn, stack.name) == [], "the failed apply left objects"
    finally:
        if blocker is not None:
            blocker.destroy()
    _, result = stack.apply()
    assert result.ok
    assert not stack.plan().has_changes, describe(stack.plan())
    stack.destroy()
    assert stack_objects(conn, stack.name) == []


def test_an_apply_killed_with_guests_defined_ahead_is_finished_by_the_next(
        new_stack: Callable[..., E2EStack], conn: Any, tmp_path: Path) -> None:
    stack = new_stack("-k")
    stack.write(STACK)
    process = _paused_apply(stack, tmp_path / "paused")
    try:
        _check_made_while_paused(conn, stack)
    finally:
        process.kill()
        process.communicate(timeout=30)
    _, result = stack.apply()
    assert result.ok
    assert sorted(o for o in stack_objects(conn, stack.name) if o.startswith("domain")) == [
        "domain ah-fixed", "domain ah-node-0", "domain ah-node-1"]
    assert all(conn.lookupByName(name).isActive()
               for name in ("ah-fixed", "ah-node-0", "ah-node-1"))
    assert not stack.plan().has_changes, describe(stack.plan())
    stack.destroy()
    assert stack_objects(conn, stack.name) == []
