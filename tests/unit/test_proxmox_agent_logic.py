"""What the guest agent's answer gives as addresses, and when a Proxmox guest's
``wait_for`` can be met: pure logic, no simulator."""

from __future__ import annotations

from typing import Any

import pytest

from provisioner.core.address import Address, Kind
from provisioner.core.resources import Resource
from provisioner.providers.proxmox.agent_addresses import addresses_of, agent_enabled
from provisioner.providers.proxmox.unsupported import unsupported

pytestmark = pytest.mark.unit

MAC = "BC:24:11:AA:BB:01"


def nic(mac: str, *addresses: str) -> dict[str, Any]:
    return {"name": "eth", "hardware-address": mac,
            "ip-addresses": [{"ip-address": a} for a in addresses]}


def test_only_the_guests_own_nics_usable_addresses_ipv4_first() -> None:
    answer = {"result": [nic("00:00:00:00:00:00", "127.0.0.1", "::1"),
                         nic(MAC.lower(), "fe80::be24:11ff:feaa:bb01%eth0", "2001:db8::5",
                             "10.0.0.5", "169.254.3.3"),
                         nic("02:42:ac:11:00:01", "172.17.0.1")]}
    assert addresses_of(answer, [MAC]) == ["10.0.0.5", "2001:db8::5"]


def test_without_known_macs_every_interface_counts_and_duplicates_go() -> None:
    answer = [nic("aa:aa:aa:aa:aa:01", "10.0.0.5"), nic("aa:aa:aa:aa:aa:02", "10.0.0.5",
                                                          "192.168.1.9")]
    assert addresses_of(answer, []) == ["10.0.0.5", "192.168.1.9"]


@pytest.mark.parametrize("answer", [None, {}, {"result": "x"}, [1, "a", {"ip-addresses": 3}],
                                    {"result": [{"ip-addresses": [{"ip-address": "nope"}]}]}])
def test_odd_answers_give_no_address(answer: Any) -> None:
    assert addresses_of(answer, []) == []


@pytest.mark.parametrize(("config", "enabled"), [
    ({}, False), ({"agent": "1"}, True), ({"agent": "0"}, False),
    ({"agent": "enabled=1,fstrim_cloned_disks=1"}, True), ({"agent": "enabled=0"}, False)])
def test_agent_enabled_reads_both_forms(config: dict[str, str], enabled: bool) -> None:
    assert agent_enabled(config) is enabled


def guest(wait_for: str, **options: Any) -> Resource:
    spec = {"memory": 512 * 2**20, "cpus": 1, "networks": [{"bridge": "vmbr0"}],
            "options": options}
    return Resource(Address(Kind.GUEST, "web"), "pve", spec,
                    settings={"wait_for": wait_for})


@pytest.mark.parametrize(("wait_for", "options", "refused"), [
    ("ip", {}, True),
    ("ssh", {"cloud_init": {"ipconfig": ["ip=dhcp"]}}, True),
    ("cloud-init", {"agent": True}, False),
    ("ssh", {"cloud_init": {"ipconfig": ["ip=10.0.0.5/24,gw=10.0.0.1"]}}, False),
    ("ssh", {"cloud_init": {"ipconfig": ["ip=dhcp,ip6=2001:db8::5/64"]}}, False),
    ("running", {}, False),
])
def test_wait_for_needs_an_agent_or_a_static_address(wait_for: str, options: dict[str, Any],
                                                     refused: bool) -> None:
    problems = [p for p in unsupported(guest(wait_for, **options)) if p[0] == "wait_for"]
    assert bool(problems) is refused, problems
