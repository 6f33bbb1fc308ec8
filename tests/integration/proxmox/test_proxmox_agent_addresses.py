"""Addresses from the QEMU guest agent, against fakepve's agent endpoints.

fakepve answers ``agent/*`` only for a running VM whose ``vm.agent`` is set (the
guest's qemu-guest-agent is up): the tests set it from a thread once the guest
runs, as a real agent starts some seconds after boot. Simulator only: a real
cluster's guest needs an image with qemu-guest-agent, which the real-host mode
does not provide.
"""

from __future__ import annotations

import threading
import time
from typing import Any

import pytest
from pve_harness import Lab, TestPve, failures, guest

from provisioner.errors import PlanError
from provisioner.plan.model import Action

pytestmark = pytest.mark.simulator_only("sets what the guest agent answers")

STACK = """
guests:
  web:
    provider: pve
    clone: debian-12
    node: pve1
    memory: 512MiB
    networks: [ {{ bridge: vmbr0 }} ]
    wait_for: {wait_for}
    wait_timeout: {timeout}
    options:
      agent: {agent}
      cloud_init: {{ user: debian, ipconfig: ["ip=dhcp"] }}
"""


def stack(wait_for: str = "ip", timeout: int = 30, agent: bool = True) -> str:
    return STACK.format(wait_for=wait_for, timeout=timeout,
                        agent="true" if agent else "false")


def interfaces(mac: str, *addresses: str) -> list[dict[str, Any]]:
    """What qemu-guest-agent reports: loopback, the guest's NIC, a container bridge."""
    return [
        {"name": "lo", "hardware-address": "00:00:00:00:00:00",
         "ip-addresses": [{"ip-address": "127.0.0.1", "ip-address-type": "ipv4"}]},
        {"name": "eth0", "hardware-address": mac,
         "ip-addresses": [{"ip-address": "fe80::1", "ip-address-type": "ipv6"},
                          *({"ip-address": a, "ip-address-type": "ipv6" if ":" in a else "ipv4"}
                            for a in addresses)]},
        {"name": "docker0", "hardware-address": "02:42:ac:11:00:01",
         "ip-addresses": [{"ip-address": "172.17.0.1", "ip-address-type": "ipv4"}]},
    ]


def agent_comes_up(pve: TestPve, after: float, *addresses: str) -> threading.Thread:
    """Once guest ``web`` runs, wait ``after`` seconds, then let its agent answer with
    ``addresses`` on its first NIC."""
    def run() -> None:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            found = [vm for vm in pve.vms if vm.name == "web" and vm.status == "running"]
            if found:
                time.sleep(after)
                mac = found[0].config["net0"].split(",")[0].split("=")[1].lower()
                found[0].agent = {"interfaces": interfaces(mac, *addresses)}
                return
            time.sleep(0.05)
    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread


def agent_reads(pve: TestPve) -> int:
    vm = guest(pve, "web")
    return sum(1 for command, _ in vm.agent_requests if command == "network-get-interfaces")


def test_wait_for_ip_waits_for_the_agent_and_records_its_address(lab: Lab,
                                                                  pve: TestPve) -> None:
    agent_comes_up(pve, 2.5, "10.20.0.7", "2001:db8::7").join(0)
    started = time.monotonic()
    plan, result = lab.apply(stack())
    assert result.ok, failures(result)
    assert time.monotonic() - started >= 2.5, "apply did not wait for the agent"
    assert plan.changes[0].action is Action.CREATE
    with lab.engine(stack()) as engine:
        record = engine.store.applied()[plan.changes[0].address]
        assert record.attributes["ip"] == "10.20.0.7", record.attributes
        assert record.attributes["ips"] == ["10.20.0.7", "2001:db8::7"]
        replan = engine.plan()
        assert not replan.has_changes
        engine.conclude(replan, None)
        assert engine.store.applied()[plan.changes[0].address].attributes["ip"] == "10.20.0.7"


def test_a_changed_address_reaches_the_records_at_the_next_plan(lab: Lab,
                                                                 pve: TestPve) -> None:
    agent_comes_up(pve, 0.0, "10.20.0.7")
    _, result = lab.apply(stack())
    assert result.ok, failures(result)
    vm = guest(pve, "web")
    mac = vm.config["net0"].split(",")[0].split("=")[1].lower()
    vm.agent = {"interfaces": interfaces(mac, "10.20.0.99")}
    before = agent_reads(pve)
    with lab.engine(stack()) as engine:
        plan = engine.plan()
        assert not plan.has_changes
        engine.conclude(plan, None)
        assert engine.store.applied()[plan.changes[0].address].attributes["ip"] == "10.20.0.99"
    assert agent_reads(pve) == before + 1, "the plan asks each agent-enabled guest once"


def test_an_agent_that_never_answers_fails_the_step_naming_the_wait(lab: Lab,
                                                                     pve: TestPve) -> None:
    _, result = lab.apply(stack(timeout=3))
    assert not result.ok
    message = " ".join(failures(result))
    assert "no IP address from the QEMU guest agent after 3s (wait_for: ip)" in message, message
    assert guest(pve, "web").status == "running", "the guest stays, as on every provider"


def test_no_agent_and_no_static_address_is_refused_at_plan_time(lab: Lab) -> None:
    with pytest.raises(PlanError) as caught:
        lab.plan(stack(wait_for="ssh", agent=False))
    text = str(caught.value) + " ".join(str(p) for p in getattr(caught.value, "problems", []))
    assert "wait_for" in text and "options.agent: true" in text, text


def test_a_static_address_needs_no_agent(lab: Lab) -> None:
    body = stack(agent=False).replace('["ip=dhcp"]', '["ip=10.0.0.5/24,gw=10.0.0.1"]')
    _, result = lab.apply(body)
    assert result.ok, failures(result)
    with lab.engine(body) as engine:
        record = next(iter(engine.store.applied().values()))
        assert record.attributes["ip"] == "10.0.0.5"
