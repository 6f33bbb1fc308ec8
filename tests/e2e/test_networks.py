"""Networks on the real daemon: a fixed address and MAC become the guest's DHCP
lease; isolated and routed networks serve leases; bridge networks and bridge
NICs attach to a host bridge made in libvirtd's network namespace.

Guests that must get a lease have a cloud-init seed: without one the tiny
guest looks for it for 10 s before it asks for an address."""

from __future__ import annotations

import subprocess
import xml.etree.ElementTree as ET
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from support.e2e import E2EStack, changes, describe, serial_log, wait_serial

from provisioner.plan.model import Action

FIXED = """
networks:
  fx-lab: { provider: kvm, mode: nat, cidr: 10.83.0.0/24 }
guests:
GUESTS"""
FIXED_GUEST = """  fx-a:
    provider: kvm
    memory: 128MiB
    networks: [ { network: fx-lab, ip: 10.83.0.50, mac: "52:54:00:83:00:50" } ]
    cloud_init: { user_data: "#cloud-config\n" }
    wait_for: ip
    wait_timeout: 120
    options: { BOOT_OPTIONS }
"""


def _reservations(conn: Any, network: str) -> list[tuple[str, str]]:
    root = ET.fromstring(conn.networkLookupByName(network).XMLDesc(0))
    return [(h.get("mac", ""), h.get("ip", "")) for h in root.findall("ip/dhcp/host")]


def test_a_fixed_ip_and_mac_are_the_guests_lease_until_the_guest_goes(
        new_stack: Callable[..., E2EStack], conn: Any) -> None:
    stack = new_stack()
    stack.write(FIXED.replace("GUESTS", FIXED_GUEST))
    stack.apply()
    guest = stack.live()["guests.fx-a"]
    assert guest.attributes["macs"] == ["52:54:00:83:00:50"]
    assert _reservations(conn, "fx-lab") == [("52:54:00:83:00:50", "10.83.0.50")]
    assert wait_serial(serial_log(guest), r"^TINY: dhcp eth0 (\S+)$").group(1) == "10.83.0.50"
    assert guest.attributes["ip"] == "10.83.0.50"
    plan = stack.plan()
    assert not plan.has_changes, describe(plan)

    stack.write(FIXED.replace("GUESTS", " {}\n"))
    plan, _ = stack.apply()
    assert {a: c.action for a, c in changes(plan).items()} == {"guests.fx-a": Action.DELETE}
    assert _reservations(conn, "fx-lab") == [], "the reservation outlived its guest"
    stack.destroy()


@pytest.fixture
def host_bridge(testbed_enter: Callable[..., subprocess.CompletedProcess[str]]
                ) -> Iterator[str]:
    """``br-e2e``, a bridge in libvirtd's network namespace (deleted afterwards)."""
    name = "br-e2e"
    testbed_enter("ip", "link", "del", name)  # an interrupted earlier run
    for command in (("ip", "link", "add", name, "type", "bridge"),
                    ("ip", "link", "set", name, "up")):
        result = testbed_enter(*command)
        assert result.returncode == 0, f"{' '.join(command)}: {result.stderr}"
    try:
        yield name
    finally:
        testbed_enter("ip", "link", "del", name)


MODES = """
networks:
  nm-iso: { provider: kvm, mode: isolated, cidr: 10.84.0.0/24 }
  nm-rt: { provider: kvm, mode: routed, cidr: 10.85.0.0/24 }
  nm-br: { provider: kvm, mode: bridge, bridge: BRIDGE }
guests:
  nm-iso-a:
    provider: kvm
    memory: 128MiB
    networks: [ { network: nm-iso } ]
    cloud_init: { user_data: "#cloud-config\n" }
    wait_for: ip
    wait_timeout: 120
    options: { BOOT_OPTIONS }
  nm-rt-a:
    provider: kvm
    memory: 128MiB
    networks: [ { network: nm-rt } ]
    cloud_init: { user_data: "#cloud-config\n" }
    wait_for: ip
    wait_timeout: 120
    options: { BOOT_OPTIONS }
  nm-br-a:
    provider: kvm
    memory: 128MiB
    networks: [ { network: nm-br }, { bridge: BRIDGE } ]
    options: { BOOT_OPTIONS }
"""


@pytest.mark.simulator_only(
    "makes a host bridge inside the testbed's network namespace (scripts/testbed enter)")
def test_isolated_routed_and_bridge_networks_come_up_and_carry_guests(
        host_bridge: str, new_stack: Callable[..., E2EStack], conn: Any) -> None:
    stack = new_stack()
    stack.write(MODES.replace("BRIDGE", host_bridge))
    stack.apply()
    live = stack.live()
    for network, forward in (("nm-iso", None), ("nm-rt", "route"), ("nm-br", "bridge")):
        handle = conn.networkLookupByName(network)
        assert handle.isActive() and handle.autostart(), f"{network} is not up"
        element = ET.fromstring(handle.XMLDesc(0)).find("forward")
        assert (element.get("mode") if element is not None else None) == forward, network
    for guest, network in (("guests.nm-iso-a", "nm-iso"), ("guests.nm-rt-a", "nm-rt")):
        ip = wait_serial(serial_log(live[guest]), r"^TINY: dhcp eth0 (\S+)$").group(1)
        leases = {str(lease["mac"]).lower(): lease["ipaddr"]
                  for lease in conn.networkLookupByName(network).DHCPLeases()}
        assert leases.get(live[guest].attributes["macs"][0].lower()) == ip, (guest, leases)
    bridged = conn.lookupByName("nm-br-a")
    assert bridged.isActive()
    interfaces = ET.fromstring(bridged.XMLDesc(0)).findall("devices/interface")
    assert [i.get("type") for i in interfaces] == ["bridge", "bridge"]  # live: what QEMU uses
    assert [source.get("bridge") for i in interfaces
            if (source := i.find("source")) is not None] == [host_bridge, host_bridge]
    plan = stack.plan()
    assert not plan.has_changes, describe(plan)
    stack.destroy()


def test_a_network_renamed_with_its_range_is_deleted_before_the_new_one_starts(
        new_stack: Callable[..., E2EStack], conn: Any) -> None:
    """libvirtd refuses a second network on a range in use ("Network is already in use
    by interface virbrN"): the plan orders the old network's delete first."""
    stack = new_stack()
    stack.write("networks:\n  rn-old: { provider: kvm, mode: nat, cidr: 10.78.0.0/24 }\n")
    stack.apply()
    stack.write("networks:\n  rn-new: { provider: kvm, mode: nat, cidr: 10.78.0.0/24 }\n")
    plan, _ = stack.apply()
    assert {a: c.action for a, c in changes(plan).items()} == {
        "networks.rn-old": Action.DELETE, "networks.rn-new": Action.CREATE}
    assert ("delete networks.rn-old", "create networks.rn-new") in plan.edges
    assert conn.networkLookupByName("rn-new").isActive()
    assert not stack.plan().has_changes
    stack.destroy()
