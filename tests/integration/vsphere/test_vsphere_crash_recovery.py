"""Crash recovery: ``provisioner apply`` SIGKILLed at a named point (around each provider
call, and inside a create: after the VM is made, after it is tagged, after it is
configured), then a second apply converges to exactly the declared guests: no
duplicate, no half-made VM, no manual state surgery."""

from __future__ import annotations

import collections
import os
import signal
import subprocess
from pathlib import Path

import pytest
import yaml
from support.vcsim import Simulator

from provisioner.providers.vsphere.ownership import CREATING_KEY

POINTS = [
    "before:create:guests.app-1",
    "vsphere:made:guests.app-1",
    "vsphere:tagged:guests.app-1",
    "vsphere:configured:guests.app-1",
    "after:create:guests.app-1",
    "recorded:create:guests.app-1",
]
UPDATE_POINTS = ["before:update:guests.app-0", "after:update:guests.app-0"]
DELETE_POINTS = ["before:delete:guests.app-2", "after:delete:guests.app-2"]


def _write(directory: Path, simulator: Simulator, count: int, cpus: int) -> None:
    document = {
        "apiVersion": "provisioner/v1", "stack": simulator.stack("crash"),
        "providers": {"vc": simulator.provider_block()},
        "guests": {"app": {"provider": "vc", "count": count, "cpus": cpus, "memory": "128MiB",
                           "disks": [{"size": "1GiB"}],
                           "networks": [{"host_network": simulator.names.get(
                               "VM Network", "VM Network")}],
                           "cloud_init": {"user_data": "#cloud-config\n"}}},
    }
    (directory / "stack.yaml").write_text(yaml.safe_dump(document), encoding="utf-8")
    simulator.track(directory)


def _apply(directory: Path, kill_at: str | None = None) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "PROVISIONER_TEST_KILL_AT"}
    if kill_at:
        env["PROVISIONER_TEST_KILL_AT"] = kill_at
    return subprocess.run(["provisioner", "apply", str(directory), "--auto-approve",
                           "--parallelism", "1"], capture_output=True, text=True, timeout=120,
                          check=False, env=env, stdin=subprocess.DEVNULL)


def _converges(directory: Path, simulator: Simulator, count: int, cpus: int) -> None:
    result = _apply(directory)
    assert result.returncode == 0, result.stdout + result.stderr
    names = collections.Counter(vm.name for vm in simulator.vms()
                                if vm.name.startswith("app-"))
    assert names == collections.Counter(f"app-{i}" for i in range(count))
    for name in names:
        vm = simulator.vm(name)
        marks = [o.value for o in vm.config.extraConfig if o.key == CREATING_KEY]
        assert marks[-1:] in ([], [""]), f"{name} is still marked as being created"
        assert vm.config.hardware.numCPU == cpus
        assert vm.runtime.powerState == "poweredOn"
    plan = subprocess.run(["provisioner", "plan", str(directory), "--detailed-exitcode"],
                          capture_output=True, text=True, timeout=60, check=False)
    assert plan.returncode == 0, plan.stdout + plan.stderr


@pytest.mark.parametrize("point", POINTS)
def test_a_create_killed_anywhere_converges(point: str, tmp_path: Path,
                                            vcsim: Simulator) -> None:
    _write(tmp_path, vcsim, count=3, cpus=1)
    killed = _apply(tmp_path, kill_at=point)
    assert killed.returncode == -signal.SIGKILL, killed.stdout + killed.stderr
    _converges(tmp_path, vcsim, count=3, cpus=1)


@pytest.mark.parametrize("point", UPDATE_POINTS + DELETE_POINTS)
def test_an_update_or_delete_killed_converges(point: str, tmp_path: Path,
                                              vcsim: Simulator) -> None:
    _write(tmp_path, vcsim, count=3, cpus=1)
    assert _apply(tmp_path).returncode == 0
    count = 2 if "delete" in point else 3
    _write(tmp_path, vcsim, count=count, cpus=2)
    killed = _apply(tmp_path, kill_at=point)
    assert killed.returncode == -signal.SIGKILL, killed.stdout + killed.stderr
    _converges(tmp_path, vcsim, count=count, cpus=2)
