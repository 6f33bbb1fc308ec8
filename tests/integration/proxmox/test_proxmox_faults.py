"""Injected faults: each is survived (retried, waited out) or reported clearly.

Config lock timeouts, a guest locked by a backup, a clone whose lock outlives
its task, a task that fails, a flaky network, lost quorum, an offline node.
"""

from __future__ import annotations

import threading
import time

import pytest
from pve_harness import Lab, Served, TestPve, failures, guest, task_types

from provisioner.errors import ProviderError

pytestmark = pytest.mark.simulator_only(
    "injects faults into fakepve (failed requests and tasks, locks, lost quorum, offline "
    "nodes, a flaky network)")

WEB = """
guests:
  web:
    provider: pve
    clone: debian-12
    node: pve1
    memory: {memory}
    disks: [ {{ size: 2GiB }} ]
    networks: [ {{ bridge: vmbr0 }} ]
"""
CONFIG = "/nodes/{node}/qemu/{vmid}/config"


def web(memory: str = "1GiB") -> str:
    return WEB.format(memory=memory)


def test_config_lock_timeouts_are_retried(lab: Lab, pve: TestPve) -> None:
    assert lab.apply(web())[1].ok
    pve.fail("PUT", CONFIG, error="config_lock_timeout", times=2)
    _, result = lab.apply(web("2GiB"))
    assert result.ok, failures(result)
    assert guest(pve, "web").config["memory"] == "2048"
    assert not any(key[0] == "PUT" for key in pve.failures), "the fault was not consumed"


def test_lock_timeouts_past_the_retry_budget_are_reported_with_a_hint(
    lab: Lab, pve: TestPve
) -> None:
    assert lab.apply(web())[1].ok
    pve.fail("PUT", CONFIG, error="config_lock_timeout")
    _, result = lab.apply(web("2GiB"), retry_timeout=1)
    failed = [(str(r.step.address), r.message) for r in result.results if r.message]
    assert not result.ok
    assert failed and failed[0][0] == "guests.web", failed
    assert "can't lock file" in failed[0][1] and "got timeout" in failed[0][1], failed


@pytest.mark.fakepve(time_scale=0.01)
def test_a_backup_lock_is_waited_out(lab: Lab, pve: TestPve, pve_loop: Served) -> None:
    assert lab.apply(web())[1].ok
    vm = guest(pve, "web")
    pve_loop.run(pve.backup(vm.vmid, secs=60))  # 0.6 s of real time
    assert vm.lock == "backup"
    _, result = lab.apply(web("2GiB"))
    assert result.ok, failures(result)
    assert vm.lock is None and vm.config["memory"] == "2048"


def test_a_backup_lock_that_outlasts_the_budget_is_named(lab: Lab, pve: TestPve) -> None:
    assert lab.apply(web())[1].ok
    vm = guest(pve, "web")
    pve.snapshot_lock(vm.vmid, "backup")
    _, result = lab.apply(web("2GiB"), retry_timeout=1)
    message = " ".join(failures(result))
    assert not result.ok
    assert "locked (backup)" in message, message


@pytest.mark.fakepve(time_scale=0.01)
def test_configuring_waits_until_the_clone_lock_is_gone(lab: Lab, pve: TestPve) -> None:
    pve.linger = 50  # the clone's lock stays 0.5 s after its task ended
    started = time.monotonic()
    _, result = lab.apply(web("2GiB"))
    assert result.ok, failures(result)
    assert time.monotonic() - started >= 0.5
    vm = guest(pve, "web")
    assert vm.lock is None and vm.config["memory"] == "2048"
    assert not lab.plan(web("2GiB")).has_changes


def test_a_failing_task_is_reported_with_its_log_and_the_create_rolled_back(
    lab: Lab, pve: TestPve
) -> None:
    pve.fail("POST", "/nodes/{node}/qemu/{vmid}/status/start", error="qemu_exited_code")
    _, result = lab.apply(web())
    message = " ".join(failures(result))
    assert not result.ok
    assert "task qmstart on pve1 failed: QEMU exited with code 1" in message, message
    assert "end of the task log" in message and "TASK ERROR" in message, message
    assert all(vm.name != "web" for vm in pve.vms), "the failed create left its VM"
    del pve.failures[("POST", "/nodes/{node}/qemu/{vmid}/status/start")]
    _, result = lab.apply(web())
    assert result.ok, failures(result)


def test_a_flaky_network_is_survived(lab: Lab, pve: TestPve) -> None:
    body = WEB.format(memory="512MiB").replace("  web:\n", "  web:\n    count: 4\n")
    pve.flaky_network(drop_rate=0.25, seed=7)
    _, result = lab.apply(body, parallelism=4, retry_timeout=30)
    assert result.ok, failures(result)
    assert sorted(vm.name for vm in pve.vms if not vm.template) == [f"web-{i}" for i in range(4)]
    assert not lab.plan(body, retry_timeout=30).has_changes
    pve.flaky_network()


def test_lost_quorum_is_retried_until_it_returns(lab: Lab, pve: TestPve) -> None:
    assert lab.apply(web())[1].ok
    pve.lose_quorum()
    assert lab.plan(web("2GiB")).has_changes, "reads work without quorum"
    timer = threading.Timer(1.0, pve.regain_quorum)
    timer.start()
    _, result = lab.apply(web("2GiB"), retry_timeout=20)
    timer.join()
    assert result.ok, failures(result)
    assert guest(pve, "web").config["memory"] == "2048"


def test_lost_quorum_past_the_budget_is_reported(lab: Lab, pve: TestPve) -> None:
    assert lab.apply(web())[1].ok
    pve.lose_quorum()
    _, result = lab.apply(web("2GiB"), retry_timeout=1)
    message = " ".join(failures(result))
    assert not result.ok and "no quorum" in message, message


def test_an_offline_node_stops_the_plan_and_names_it(lab: Lab, pve: TestPve) -> None:
    assert lab.apply(web().replace("node: pve1", "node: pve2"))[1].ok
    pve.set_node_offline("pve2")
    with pytest.raises(ProviderError) as failure:
        lab.plan(web().replace("node: pve1", "node: pve2"))
    assert "node pve2 is offline" in str(failure.value)
    assert "web (VMID" in str(failure.value)
    pve.set_node_offline("pve2", offline=False)
    assert not lab.plan(web().replace("node: pve1", "node: pve2")).has_changes


def test_a_new_guest_on_an_offline_node_is_a_plan_error(lab: Lab, pve: TestPve) -> None:
    from provisioner.errors import PlanError

    pve.set_node_offline("pve2")
    with pytest.raises(PlanError) as failure:
        lab.plan(web().replace("node: pve1", "node: pve2"))
    assert "guests.web: node 'pve2' is offline" in str(failure.value)


def test_node_unreachable_during_apply_is_reported(lab: Lab, pve: TestPve) -> None:
    assert lab.apply(web())[1].ok
    vm = guest(pve, "web")
    with lab.engine(web("2GiB"), retry_timeout=1) as engine:
        plan = engine.plan()
        pve.set_node_offline("pve1")
        result = engine.apply(plan, _Quiet())
    message = " ".join(failures(result))
    assert not result.ok and "pve1" in message, message
    assert "qmshutdown" not in task_types(pve, vm.vmid)


class _Quiet:
    def started(self, step: object) -> None: ...

    def finished(self, result: object) -> None: ...
