"""Plan cost: one PropertyCollector retrieval per plan, whatever the number of guests.

200 guests are applied (20 at a time), then planned again by a fresh engine,
as a new ``provisioner plan`` would: the plan makes exactly one LIST call
(RetrievePropertiesEx over the inventory view) and no per-guest READ, on top
of connecting (the login and the view); a stack with no image searches no
datastore (``Provider.in_use``). The numbers are printed (run with -s).
"""

from __future__ import annotations

import time

from support.vcsim import Simulator
from vsphere_lab import Lab, failures

FLEET = """
guests:
  fleet:
    provider: vc
    count: {count}
    cpus: 1
    memory: 4MiB
    power: stopped
    disks: [ {{ size: 256MiB }} ]  # 200 of them fit any datastore vcsim sizes from the host
    networks: [ {{ host_network: VM Network }} ]
    options: {{ notes: "guest ${{count.index}}" }}
"""


def test_a_plan_of_200_guests_is_one_retrieval(lab: Lab, vcsim: Simulator) -> None:
    body = FLEET.format(count=200)
    started = time.perf_counter()
    _, result = lab.apply(body, parallelism=20, max_parallel=20)
    applied = time.perf_counter() - started
    assert result.ok, failures(result)

    with lab.engine(body) as engine:
        started = time.perf_counter()
        plan = engine.plan()
        elapsed = time.perf_counter() - started
        (report,) = engine.stats()
    assert not plan.has_changes
    assert report.calls == {"connect": 2, "list": 1}, report.calls
    print(f"\n{vcsim.model}: apply of 200 guests {applied:.1f}s; plan of 200 guests: "
          f"{ {str(k): v for k, v in report.calls.items()} } in {elapsed:.2f}s wall, "
          f"{report.seconds:.2f}s in API calls")
    assert elapsed < 10

    with lab.engine(FLEET.format(count=20)) as engine:
        engine.plan()
        (fewer,) = engine.stats()
    assert fewer.calls["list"] == report.calls["list"] == 1
