"""20 guests applied in parallel, and what a plan costs: one get_all_records per class,
whatever the number of guests (the numbers are printed: run with -s)."""

from __future__ import annotations

import time

import pytest
from support.xapi import XapiSimulator
from xapi_lab import NET, Lab, failures

pytestmark = [pytest.mark.integration,
              pytest.mark.simulator_only("counts the simulator's calls and concurrency")]

FLEET = f"""
guests:
  fleet:
    provider: xcp
    count: {{count}}
    clone: debian-12-cloud
    cpus: 1
    memory: 256MiB
    disks: [{{{{size: 10GiB}}}}]
    networks: [{{{{host_network: {NET}}}}}]
    cloud_init: {{{{user_data: "#cloud-config\\n"}}}}
"""


def test_twenty_guests_in_parallel_then_a_plan_of_eleven_lists(
        lab: Lab, xapi_sim: XapiSimulator) -> None:
    body = FLEET.format(count=20)
    xapi_sim.task_seconds = 0.2  # clones and starts take a while: overlap must show
    started = time.perf_counter()
    _, result = lab.apply(body, parallelism=20, max_parallel=20)
    applied = time.perf_counter() - started
    assert result.ok, failures(result)
    guests = [vm for vm in xapi_sim.objects("VM").values()
              if vm["name_label"].startswith("fleet-")]
    assert len(guests) == 20 and all(vm["power_state"] == "Running" for vm in guests)
    assert len({vm["name_label"] for vm in guests}) == 20
    # 20 clones and 20 starts of 0.2 s each, one after the other, would take 8 s
    assert applied < 6, f"20 guests took {applied:.1f}s: not applied in parallel"

    with lab.engine(body) as engine:
        xapi_sim.clear_calls()
        plan = engine.plan()
        (report,) = engine.stats()
    assert not plan.has_changes
    lists = sorted(c.method for c in xapi_sim.calls if c.method.endswith("get_all_records"))
    assert len(lists) == 11 and len(set(lists)) == 11, lists
    assert report.calls.get("read", 0) == 0, report.calls
    print(f"\napply of 20 guests: {applied:.1f}s; plan of 20: {dict(report.calls)}")

    with lab.engine(FLEET.format(count=3)) as engine:
        engine.plan()
        (fewer,) = engine.stats()
    assert fewer.calls["list"] == report.calls["list"] == 11
