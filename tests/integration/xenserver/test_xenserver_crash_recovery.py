"""Crash recovery: ``provisioner apply`` SIGKILLed at a named point (around each provider
call, and inside a create: after the VM is made, after it is marked, after its disks
and NICs, after its start; inside a delete between the VM and its disks), then a second
apply converges to exactly the declared guests: no duplicate, no half-made VM, no disk
of the stack left without its VM."""

from __future__ import annotations

import collections
import os
import signal
import subprocess
from pathlib import Path

import pytest
import yaml
from support.xapi import XapiSimulator
from xapi_lab import NET, OWNER_KEY, block

pytestmark = [pytest.mark.integration,
              pytest.mark.simulator_only("reads the simulator's records after each kill")]

POINTS = [
    "before:create:guests.app-1",
    "xenserver:made:guests.app-1",
    "xenserver:marked:guests.app-1",
    "xenserver:devices-made:guests.app-1",
    "xenserver:started:guests.app-1",
    "after:create:guests.app-1",
    "recorded:create:guests.app-1",
]
DELETE_POINTS = ["before:delete:guests.app-2", "xenserver:vm-destroyed:guests.app-2",
                 "after:delete:guests.app-2"]


def _write(directory: Path, sim: XapiSimulator, count: int) -> None:
    document = {
        "apiVersion": "provisioner/v1", "stack": "crash",
        "providers": {"xcp": block(sim)},
        "guests": {"app": {"provider": "xcp", "count": count, "clone": "debian-12-cloud",
                           "memory": "256MiB", "disks": [{"size": "10GiB"}, {"size": "1GiB"}],
                           "networks": [{"host_network": NET}],
                           "cloud_init": {"user_data": "#cloud-config\n"}}},
    }
    (directory / "stack.yaml").write_text(yaml.safe_dump(document), encoding="utf-8")


def _apply(directory: Path, kill_at: str | None = None) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "PROVISIONER_TEST_KILL_AT"}
    env["XAPI_PASSWORD"] = "secret"
    if kill_at:
        env["PROVISIONER_TEST_KILL_AT"] = kill_at
    return subprocess.run(["provisioner", "apply", str(directory), "--auto-approve",
                           "--parallelism", "1"], capture_output=True, text=True, timeout=120,
                          check=False, env=env, stdin=subprocess.DEVNULL)


def _converges(directory: Path, sim: XapiSimulator, count: int) -> None:
    result = _apply(directory)
    assert result.returncode == 0, result.stdout + result.stderr
    vms = [vm for vm in sim.objects("VM").values() if not vm["is_a_template"]
           and not vm["is_control_domain"]]
    names = collections.Counter(vm["name_label"] for vm in vms)
    assert names == collections.Counter(f"app-{i}" for i in range(count)), names
    for vm in vms:
        assert "provisioner:creating" not in vm["other_config"], vm["name_label"]
        assert vm["power_state"] == "Running"
    disks = [vdi for vdi in sim.objects("VDI").values()
             if OWNER_KEY in (vdi.get("other_config") or {})]
    assert all(vdi["VBDs"] for vdi in disks), "a disk of the stack without its VM"
    assert len(disks) == 3 * count  # two disks and a config drive each
    env = {**os.environ, "XAPI_PASSWORD": "secret"}
    plan = subprocess.run(["provisioner", "plan", str(directory), "--detailed-exitcode"],
                          capture_output=True, text=True, timeout=60, check=False, env=env)
    assert plan.returncode == 0, plan.stdout + plan.stderr


@pytest.mark.parametrize("point", POINTS)
def test_a_create_killed_anywhere_converges(point: str, tmp_path: Path,
                                            xapi_sim: XapiSimulator) -> None:
    _write(tmp_path, xapi_sim, count=3)
    killed = _apply(tmp_path, kill_at=point)
    assert killed.returncode == -signal.SIGKILL, killed.stdout + killed.stderr
    _converges(tmp_path, xapi_sim, count=3)


@pytest.mark.parametrize("point", DELETE_POINTS)
def test_a_delete_killed_anywhere_converges(point: str, tmp_path: Path,
                                            xapi_sim: XapiSimulator) -> None:
    _write(tmp_path, xapi_sim, count=3)
    assert _apply(tmp_path).returncode == 0
    _write(tmp_path, xapi_sim, count=2)
    killed = _apply(tmp_path, kill_at=point)
    assert killed.returncode == -signal.SIGKILL, killed.stdout + killed.stderr
    _converges(tmp_path, xapi_sim, count=2)
