"""The XenServer provider through the engine, on whatever pool the run targets.

These run on the XAPI simulator by default and on a real XenServer / XCP-ng pool
when ``PROVISIONER_TEST_XAPI`` names one (docs/testing.md): they look only
through the provider (plans, the bulk read), never into the simulator, and the
``pool`` fixture destroys what they made and fails if anything is left. A real
pool needs ``PROVISIONER_TEST_XAPI_TEMPLATE`` (a template with one disk of at
most 10 GiB), ``_SR`` and ``_NETWORK``.
"""

from __future__ import annotations

import os

import pytest
from xapi_lab import NET, Lab, failures, field_changes

from provisioner.core.problems import PlanRefused

pytestmark = pytest.mark.integration

GUESTS = f"""
guests:
  web:
    provider: xcp
    count: 2
    clone: debian-12-cloud
    cpus: 1
    memory: 512MiB
    disks: [{{size: 10GiB}}, {{size: 1GiB, pool: NFS shared}}]
    networks: [{{host_network: {NET}}}]
    cloud_init: {{user_data: "#cloud-config\\nhostname: web\\n"}}
    options: {{memory_max: 1GiB, description: made by the integration tests}}
  blank:
    provider: xcp
    cpus: 1
    memory: 256MiB
    power: stopped
    disks: [{{size: 1GiB}}]
"""


def _needs_real_names() -> None:
    if os.environ.get("PROVISIONER_TEST_XAPI") and not all(
            os.environ.get(f"PROVISIONER_TEST_XAPI_{key}") for key in ("TEMPLATE", "SR",
                                                                        "NETWORK")):
        pytest.skip("set PROVISIONER_TEST_XAPI_TEMPLATE, _SR and _NETWORK for this test")


def test_a_lab_round_trip(pool: Lab) -> None:
    """apply, a clean re-plan, a live change, a restarting one, destroy: nothing left."""
    _needs_real_names()
    plan, result = pool.apply(GUESTS)
    assert result.ok, failures(result)
    assert len(plan.changes) == 3
    assert not pool.plan(GUESTS).has_changes, "a plan right after the apply must be empty"

    live = GUESTS.replace("memory: 512MiB", "memory: 768MiB")
    assert field_changes(pool.plan(live)) == {
        "guests.web-0": [("memory", "in place")], "guests.web-1": [("memory", "in place")]}
    assert pool.apply(live)[1].ok
    restart = live.replace("cpus: 1\n    memory: 768MiB", "cpus: 2\n    memory: 768MiB")
    assert field_changes(pool.plan(restart))["guests.web-0"] == [("cpus", "requires restart")]
    assert pool.apply(restart)[1].ok
    assert not pool.plan(restart).has_changes

    result = pool.destroy(restart)
    assert result.ok, failures(result)
    assert pool.left() == []


def test_names_the_pool_lacks_are_refused_at_plan_time(pool: Lab) -> None:
    """A template, SR, network and host that do not exist: one problem each, at plan
    time, with what exists; nothing is made."""
    body = """
    guests:
      ghost:
        provider: xcp
        clone: no-such-template
        node: no-such-host
        memory: 256MiB
        disks: [{size: 1GiB, pool: no-such-sr}]
        networks: [{host_network: no-such-network}]
    """
    with pytest.raises(PlanRefused) as refused:
        pool.plan(body)
    paths = sorted(problem.path for problem in refused.value.problems)
    assert paths == ["clone", "disks[0].pool", "networks[0].host_network", "node"]
    assert pool.left() == []
