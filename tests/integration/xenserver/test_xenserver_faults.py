"""Faults only the simulator can make: failed tasks, full SRs, busy objects, expired
sessions, a pool member in place of the master, roles, slow tasks, TLS."""

from __future__ import annotations

from pathlib import Path

import pytest
from support.xapi import XapiSimulator
from xapi_lab import NET, Lab, block, failures

from provisioner.apply.progress import CollectingProgress
from provisioner.errors import PlanError, ProviderError

pytestmark = [pytest.mark.integration,
              pytest.mark.simulator_only("injects faults into the simulator")]

ONE = f"""
guests:
  web:
    provider: xcp
    clone: debian-12-cloud
    memory: 512MiB
    disks: [{{size: 10GiB}}, {{size: 1GiB}}]
    networks: [{{host_network: {NET}}}]
    cloud_init: {{user_data: "#cloud-config\\n"}}
"""


def _ours(sim: XapiSimulator) -> list[str]:
    """VMs and disks made for the stack (marked, or still under a creating name)."""
    found = []
    for cls in ("VM", "VDI"):
        for record in sim.objects(cls).values():
            owner = str((record.get("other_config") or {}).get("provisioner:owner", ""))
            if '"stack":"lab"' in owner or record["name_label"].startswith("provisioner-"):
                found.append(f"{cls} {record['name_label']}")
    return found


def test_a_clone_task_that_fails_leaves_nothing(lab: Lab, xapi_sim: XapiSimulator) -> None:
    xapi_sim.fail_task("VM.clone", "SR_BACKEND_FAILURE", "", "insufficient space", "")
    _, result = lab.apply(ONE)
    assert not result.ok
    assert "VM.clone: XAPI refused: SR_BACKEND_FAILURE" in failures(result)[0]
    assert "VM 'web'" in failures(result)[0]
    assert _ours(xapi_sim) == []
    assert lab.apply(ONE)[1].ok  # the next apply makes it


def test_a_full_sr_half_way_destroys_what_was_made(lab: Lab, xapi_sim: XapiSimulator) -> None:
    xapi_sim.fail("VDI.create", "SR_FULL", "1073741824", "0")
    _, result = lab.apply(ONE)
    message = failures(result)[0]
    assert "SR_FULL: the storage repository has no room for it" in message
    assert "OpaqueRef" not in message
    assert _ours(xapi_sim) == []


def test_busy_objects_are_retried_and_a_lost_session_logs_in_again(
        lab: Lab, xapi_sim: XapiSimulator) -> None:
    xapi_sim.fail("VM.set_name_label", "OTHER_OPERATION_IN_PROGRESS", "VM", "", "clone",
                  times=2)
    with lab.engine(ONE) as engine:
        plan = engine.plan()
        xapi_sim.expire_sessions()  # between the plan and the apply
        result = engine.apply(plan, CollectingProgress(), 4)
    assert result.ok, failures(result)
    assert [c.method for c in xapi_sim.calls].count("VM.set_name_label") == 3
    assert not lab.plan(ONE).has_changes


def test_a_pool_member_leads_to_the_master(tmp_path: Path, xapi_sim: XapiSimulator,
                                           monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XAPI_PASSWORD", "secret")
    member = Lab(tmp_path / "member", {**block(xapi_sim), "url": xapi_sim.member_url()},
                 sim=xapi_sim)
    _, result = member.apply(ONE)
    assert result.ok, failures(result)
    logins = [c for c in xapi_sim.calls if c.method == "session.login_with_password"]
    assert logins  # the member refused, the master took them
    assert not member.plan(ONE).has_changes


@pytest.mark.parametrize(("role", "works"), [("vm-admin", False), ("vm-power-admin", True)])
def test_the_role_the_docs_name_is_enough(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                          role: str, works: bool) -> None:
    sim = XapiSimulator(users={"ops": ("pw", role)})
    sim.start()
    sim.seed_lab()
    try:
        monkeypatch.setenv("XAPI_PASSWORD", "pw")
        lab = Lab(tmp_path / "lab", {**block(sim), "username": "ops"}, sim=sim)
        body = ONE.replace("memory: 512MiB", "memory: 512MiB\n    node: xcp2")
        _, result = lab.apply(body)
        assert result.ok is works, failures(result)
        if not works:
            assert "RBAC_PERMISSION_DENIED" in failures(result)[0]
            assert "vm-power-admin" in failures(result)[0] or "role" in failures(result)[0]
            assert _ours(sim) == []
    finally:
        sim.stop()


def test_a_task_past_its_timeout_is_cancelled(lab: Lab, xapi_sim: XapiSimulator) -> None:
    xapi_sim.delay("VM.clone", 5.0)
    _, result = lab.apply(ONE, task_timeout=1)
    assert "still runs after 1s; it was cancelled" in failures(result)[0]
    xapi_sim.wait_tasks()
    cancelled = [task for task in xapi_sim.objects("task").values()
                 if task.get("status") == "cancelled"]
    assert cancelled or not xapi_sim.objects("task")
    assert _ours(xapi_sim) == []


def test_tls_is_verified(tmp_path: Path, xapi_sim: XapiSimulator,
                         monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XAPI_PASSWORD", "secret")
    settings = {key: value for key, value in block(xapi_sim).items() if key != "ca_file"}
    lab = Lab(tmp_path / "lab", settings, sim=xapi_sim)
    with pytest.raises(ProviderError, match=r"TLS certificate .* is not trusted"):
        lab.plan(ONE)
    wrong = Lab(tmp_path / "wrong", {**block(xapi_sim), "username": "root"}, sim=xapi_sim)
    monkeypatch.setenv("XAPI_PASSWORD", "not-the-password")
    with pytest.raises(ProviderError, match="SESSION_AUTHENTICATION_FAILED") as refused:
        wrong.plan(ONE)
    assert "not-the-password" not in str(refused.value)


def test_ctrl_c_cancels_the_running_task(xapi_sim: XapiSimulator) -> None:
    """An interrupt while a task runs cancels it on the pool, then propagates."""
    from provisioner.providers.base import ProviderStats
    from provisioner.providers.xenserver import XenServerConfig
    from provisioner.providers.xenserver.client import XapiClient

    fields = {key: value for key, value in block(xapi_sim).items() if key != "type"}
    settings = XenServerConfig.model_validate({**fields, "password": "secret"})
    client = XapiClient(settings, ProviderStats())
    template = xapi_sim.find("VM", "debian-12-cloud")
    xapi_sim.delay("VM.clone", 3.0)
    seen: list[float] = []

    def interrupt(progress: float) -> None:
        seen.append(progress)
        raise KeyboardInterrupt

    try:
        with pytest.raises(KeyboardInterrupt):
            client.task("VM.clone", template, "interrupted", progress=interrupt)
    finally:
        client.close()
    xapi_sim.wait_tasks()
    assert seen  # the wait saw the task's progress before the interrupt
    assert "task.cancel" in [call.method for call in xapi_sim.calls]
    assert [vm for vm in xapi_sim.objects("VM").values()
            if vm["name_label"] == "interrupted"] == []


def test_capacity_refuses_and_places_at_plan_time(lab: Lab) -> None:
    """xcp2 has 16 GiB (its control domain takes 2): a 15 GiB guest pinned there is
    refused before anything is made; node: auto puts it on xcp1."""
    big = ONE.replace("memory: 512MiB", "memory: 15GiB\n    node: xcp2")
    with pytest.raises(PlanError, match="node xcp2: 14GiB of memory free"):
        lab.plan(big)
    _, result = lab.apply(big.replace("node: xcp2", "node: auto"))
    assert result.ok, failures(result)
    _, vm = lab.vm("web")
    assert lab.sim.objects("host")[vm["resident_on"]]["name_label"] == "xcp1"
