"""Ten guests at once: created in parallel, each waits for its lease; the apply's
wall time is recorded (shown under "e2e timings")."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from support.e2e import E2EStack, describe

TEN = """
networks:
  ten-lab: { provider: kvm, mode: nat, cidr: 10.87.0.0/24 }
guests:
  ten:
    provider: kvm
    count: 10
    memory: 128MiB
    networks: [ { network: ten-lab } ]
    cloud_init: { user_data: "#cloud-config\\n" }
    wait_for: ip
    wait_timeout: 180
    options: { BOOT_OPTIONS }
outputs:
  ips: ${guests.ten[*].ip}
"""


def test_ten_guests_boot_in_parallel_and_each_gets_its_own_lease(
        new_stack: Callable[..., E2EStack], conn: Any, record_property: Any) -> None:
    stack = new_stack()
    stack.write(TEN)
    started = time.monotonic()
    stack.apply()
    seconds = time.monotonic() - started
    record_property("apply of 10 guests (wait_for: ip) seconds", round(seconds, 1))
    print(f"\napply of 10 guests: {seconds:.1f}s")
    guests = {a: g for a, g in stack.live().items() if a.startswith("guests.")}
    assert len(guests) == 10 and all(g.running for g in guests.values())
    leases = {str(lease["mac"]).lower(): lease["ipaddr"]
              for lease in conn.networkLookupByName("ten-lab").DHCPLeases()}
    ips = [g.attributes.get("ip") for g in guests.values()]
    assert sorted(ips, key=str) == sorted(leases[g.attributes["macs"][0].lower()]
                                          for g in guests.values())
    assert len(set(ips)) == 10, ips
    plan = stack.plan()
    assert not plan.has_changes, describe(plan)
    stack.destroy()
