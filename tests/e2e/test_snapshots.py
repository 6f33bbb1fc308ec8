"""Snapshots of real guests on libvirtd + QEMU, through the console script: a running
guest's snapshot brings it back running after it was stopped; a stopped guest's
snapshot undoes a write into its disk; list, delete, and destroy of guests that
still have snapshots."""

from __future__ import annotations

import subprocess
from collections.abc import Callable
from typing import Any

import libvirt
from support.e2e import PROVISIONER, E2EStack

STACK = """
guests:
  snap-run:
    provider: kvm
    memory: 128MiB
    disks: [ { size: 64MiB } ]
    cloud_init: { user_data: "#cloud-config\\n" }
    options: { BOOT_OPTIONS }
  snap-off:
    provider: kvm
    memory: 128MiB
    power: stopped
    disks: [ { size: 64MiB } ]
    options: { BOOT_OPTIONS }
"""


def snapshot(stack: E2EStack, *args: str) -> subprocess.CompletedProcess[str]:
    """``provisioner snapshot COMMAND NAME STACKDIR ...``."""
    command, *rest = args
    where = [str(stack.directory)] if command == "list" else [rest.pop(0), str(stack.directory)]
    return subprocess.run([PROVISIONER, "snapshot", command, *where, *rest], capture_output=True,
                          text=True, timeout=300, check=False, stdin=subprocess.DEVNULL)


def qemu_io(disk: str, command: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["qemu-io", "-f", "qcow2", "-c", command, disk], capture_output=True,
                          text=True, timeout=60, check=False)


def test_revert_brings_back_a_running_guest_and_undoes_a_disk_write(
        new_stack: Callable[..., E2EStack], conn: Any) -> None:
    stack = new_stack()
    stack.write(STACK)
    stack.apply()
    running, stopped = conn.lookupByName("snap-run"), conn.lookupByName("snap-off")
    assert running.isActive() and not stopped.isActive()

    taken = snapshot(stack, "create", "before")
    assert taken.returncode == 0, taken.stdout + taken.stderr
    assert "guests.snap-run: took snapshot before (disks and memory)" in taken.stdout
    assert "guests.snap-off: took snapshot before (disks)" in taken.stdout

    listed = snapshot(stack, "list")
    assert listed.returncode == 0, listed.stderr
    assert [line.split()[:2] for line in listed.stdout.splitlines()[1:]] == [
        ["guests.snap-off", "before"], ["guests.snap-run", "before"]], listed.stdout

    # the experiment: the running guest is stopped, the stopped one's disk written
    running.destroy()
    disk = conn.storagePoolLookupByName("default").storageVolLookupByName(
        f"{stack.name}.kvm__snap-off__disk0.qcow2").path()
    assert qemu_io(disk, "write -P 0x5a 0 4k").returncode == 0
    assert "Pattern verification failed" not in qemu_io(disk, "read -P 0x5a 0 4k").stdout

    reverted = snapshot(stack, "revert", "before", "--auto-approve")
    assert reverted.returncode == 0, reverted.stdout + reverted.stderr
    assert "stopped -> running" in reverted.stdout, reverted.stdout
    assert "guests.snap-run: reverted to before, now running" in reverted.stdout
    assert "guests.snap-off: reverted to before, now stopped" in reverted.stdout
    assert running.isActive() and not stopped.isActive()
    after = stack.plan()  # back as the stack declares them: nothing to change
    assert not after.has_changes, [str(c.address) for c in after.changes if c.action.is_change]
    assert "Pattern verification failed" in qemu_io(disk, "read -P 0x5a 0 4k").stdout
    assert "Pattern verification failed" not in qemu_io(disk, "read -P 0 0 4k").stdout

    deleted = snapshot(stack, "delete", "before", "--target", "guests.snap-off")
    assert deleted.returncode == 0, deleted.stderr
    assert stopped.listAllSnapshots(0) == []
    assert [s.getName() for s in running.listAllSnapshots(0)] == ["before"]

    stack.destroy()  # snap-run still has its snapshot: the guest goes with it
    for name in ("snap-run", "snap-off"):
        try:
            conn.lookupByName(name)
        except libvirt.libvirtError as exc:
            assert exc.get_error_code() == libvirt.VIR_ERR_NO_DOMAIN
        else:
            raise AssertionError(f"{name} is still defined after destroy")
