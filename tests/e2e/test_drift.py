"""Drift: changes made behind provisioner's back with virsh are in the next plan,
and apply puts each back.

One stack, one guest per kind of drift, all made before one plan: memory
lowered in the stored definition (``setmem --config``), a NIC detached from
the stored definition (``detach-interface --config``), a guest stopped
(``virsh destroy``), a volume deleted (``vol-delete``).
"""

from __future__ import annotations

import subprocess
import xml.etree.ElementTree as ET
from collections.abc import Callable
from typing import Any

import libvirt
from support.e2e import E2EStack, booted, changes, describe, serial_log

from provisioner.plan.model import Action

STACK = """
networks:
  dr-lab: { provider: kvm, mode: nat, cidr: 10.81.0.0/24 }
volumes:
  dr-vol: { provider: kvm, size: 64MiB }
guests:
  dr-mem:
    provider: kvm
    memory: 192MiB
    cloud_init: { user_data: "#cloud-config\\n" }
    options: { BOOT_OPTIONS }
  dr-nic:
    provider: kvm
    memory: 128MiB
    networks: [ { network: dr-lab } ]
    cloud_init: { user_data: "#cloud-config\\n" }
    options: { BOOT_OPTIONS }
  dr-power:
    provider: kvm
    memory: 128MiB
    options: { BOOT_OPTIONS }
"""


def _virsh(uri: str, *args: str) -> None:
    result = subprocess.run(["virsh", "-q", "-c", uri, *args], capture_output=True, text=True,
                            timeout=60, check=False)
    assert result.returncode == 0, f"virsh {' '.join(args)}: {result.stderr}"


def _stored(conn: Any, name: str) -> ET.Element:
    return ET.fromstring(conn.lookupByName(name).XMLDesc(libvirt.VIR_DOMAIN_XML_INACTIVE))


def test_drift_made_with_virsh_is_planned_and_apply_restores_it(
        new_stack: Callable[..., E2EStack], conn: Any) -> None:
    stack = new_stack()
    stack.write(STACK)
    stack.apply()
    live = stack.live()
    booted(serial_log(live["guests.dr-nic"]))  # it restarts: ACPI must work
    mac = live["guests.dr-nic"].attributes["macs"][0]

    _virsh(stack.uri, "setmem", "dr-mem", "128M", "--config")
    _virsh(stack.uri, "detach-interface", "dr-nic", "network", "--mac", mac, "--config")
    _virsh(stack.uri, "destroy", "dr-power")
    _virsh(stack.uri, "vol-delete", f"{stack.name}.kvm__dr-vol.qcow2", "--pool", "default")

    plan = stack.plan()
    pending = changes(plan)
    assert sorted(pending) == ["guests.dr-mem", "guests.dr-nic", "guests.dr-power",
                               "volumes.dr-vol"], describe(plan)
    memory = pending["guests.dr-mem"]
    assert [(f.path, f.before, f.after) for f in memory.fields] == [
        ("memory", 128 * 1024 * 1024, 192 * 1024 * 1024)], f"setmem --config: {describe(plan)}"
    assert not memory.requires_restart  # back up to the maximum it runs with: live
    nic = pending["guests.dr-nic"]
    assert [f.path for f in nic.fields] and all(
        f.path.startswith("networks") for f in nic.fields), f"detach-interface: {describe(plan)}"
    power = pending["guests.dr-power"]
    assert [(f.path, f.before, f.after) for f in power.fields] == [
        ("power", "stopped", "running")], f"virsh destroy: {describe(plan)}"
    volume = pending["volumes.dr-vol"]
    assert (volume.action, volume.reason) == (Action.CREATE, "deleted outside provisioner"), \
        f"vol-delete: {describe(plan)}"

    stack.apply()
    assert _stored(conn, "dr-mem").findtext("currentMemory") == str(192 * 1024)
    assert conn.lookupByName("dr-mem").info()[2] == 192 * 1024
    interfaces = _stored(conn, "dr-nic").findall("devices/interface")
    assert [(source.get("network"), address.get("address")) for i in interfaces
            if (source := i.find("source")) is not None
            and (address := i.find("mac")) is not None] == [("dr-lab", mac)]
    assert conn.lookupByName("dr-power").isActive()
    assert conn.storagePoolLookupByName("default").storageVolLookupByName(
        f"{stack.name}.kvm__dr-vol.qcow2").info()[1] == 64 * 1024 * 1024
    plan = stack.plan()
    assert not plan.has_changes, describe(plan)
    stack.destroy()


LIVE_STACK = """
networks:
  dl-lab: { provider: kvm, mode: nat, cidr: 10.88.0.0/24 }
guests:
  dl-nic:
    provider: kvm
    memory: 128MiB
    networks: [ { network: dl-lab } ]
    cloud_init: { user_data: "#cloud-config\\n" }
    options: { BOOT_OPTIONS }
"""


def test_a_change_made_to_the_running_guest_only_is_planned_too(
        new_stack: Callable[..., E2EStack], conn: Any) -> None:
    """virsh detach-interface --live leaves the stored definition as it was: the
    running guest is what departs from the stack, and the plan must say so."""
    stack = new_stack()
    stack.write(LIVE_STACK)
    stack.apply()
    live = stack.live()
    booted(serial_log(live["guests.dl-nic"]))
    mac = live["guests.dl-nic"].attributes["macs"][0]
    _virsh(stack.uri, "detach-interface", "dl-nic", "network", "--mac", mac, "--live")
    assert len(_stored(conn, "dl-nic").findall("devices/interface")) == 1  # stored: unchanged

    plan = stack.plan()
    nic = changes(plan).get("guests.dl-nic")
    assert nic is not None and nic.requires_restart, describe(plan)
    assert [f.path for f in nic.fields] == ["networks[0]"], describe(plan)

    stack.apply()
    running = ET.fromstring(conn.lookupByName("dl-nic").XMLDesc(0))
    assert [m.get("address") for m in running.findall("devices/interface/mac")] == [mac]
    plan = stack.plan()
    assert not plan.has_changes, describe(plan)
    stack.destroy()
