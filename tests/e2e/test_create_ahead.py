"""Guests begun ahead of their network, on the real daemon (Provider.create_ahead).

`provisioner apply` is paused inside the network's create (the test hook of
provisioner/testing.py, PROVISIONER_TEST_PAUSE_AT): the guests' disks are made
meanwhile, and no guest is defined until the network exists. Then the network's
start is made to fail (a network of the same range is started beside it while the
apply waits): the guests begun ahead remove their disks and are reported skipped,
the daemon holds nothing of the stack, and the next apply makes it all.
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


def _disks_while_paused(conn: Any, stack: E2EStack) -> list[str]:
    """The guests' disks, once both exist (they are made during the pause)."""
    deadline = time.monotonic() + 30
    while True:
        disks = [o for o in stack_objects(conn, stack.name) if o.startswith("volume")]
        if len(disks) == 2 or time.monotonic() > deadline:
            return sorted(disks)
        time.sleep(0.1)


def test_guests_begun_ahead_of_a_failing_network_leave_nothing(
        new_stack: Callable[..., E2EStack], conn: Any, tmp_path: Path) -> None:
    stack = new_stack()
    stack.write(STACK)
    marker = tmp_path / "paused"
    process = _paused_apply(stack, marker)
    blocker = None
    try:
        disks = _disks_while_paused(conn, stack)
        prefix = f"volume default/{stack.name}.kvm__ah-node"
        assert disks == [f"{prefix}-0__disk0.qcow2", f"{prefix}-1__disk0.qcow2"], (
            "the guests' disks were not made while the network was")
        assert not [o for o in stack_objects(conn, stack.name) if o.startswith("domain")], (
            "a guest was defined before its network existed")
        blocker = conn.networkCreateXML(BLOCKER)
        marker.unlink()
        output, _ = process.communicate(timeout=180)
    finally:
        if process.poll() is None:
            process.kill()
    try:
        assert process.returncode == 1, output
        assert "create networks.ah-lab: " in output and "already in use" in output, output
        for index in range(2):
            assert (f"skipped: create guests.ah-node-{index} (upstream create networks.ah-lab "
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

