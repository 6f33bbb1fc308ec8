"""The testbed itself: a real guest boots on libvirtd + QEMU, reads its NoCloud
seed, gets a DHCP lease from a libvirt NAT network and powers off on ACPI shutdown.

Done directly with libvirt-python (not through provisioner), so that a failure
here points at the machine, not at the provider.
"""

from __future__ import annotations

import hashlib
import re
import subprocess
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import libvirt
import pytest

pytestmark = pytest.mark.simulator_only(
    "tests the testbed itself: scripts/testbed's daemon and network namespace")

PREFIX = "e2e-testbed-"
NETWORK_CIDR = "10.77.0"  # .0/24, DHCP .10-.100
BOOT_TIMEOUT = 120.0  # TCG on a busy 2-core machine: ~2.5 s to boot, ~5 s more to a lease
POWEROFF_TIMEOUT = 20.0


def _remove_leftovers(conn: Any) -> None:
    """Objects of an earlier, interrupted run (the network's CIDR would collide)."""
    for domain in conn.listAllDomains():
        if domain.name().startswith(PREFIX):
            if domain.isActive():
                domain.destroy()
            domain.undefine()
    for network in conn.listAllNetworks():
        if network.name().startswith(PREFIX):
            if network.isActive():
                network.destroy()
            network.undefine()
    pool = conn.storagePoolLookupByName("default")
    pool.refresh(0)
    for volume in pool.listAllVolumes():
        if volume.name().startswith(PREFIX):
            volume.delete(0)


@pytest.fixture
def conn(libvirt_daemon: str) -> Iterator[Any]:
    connection = libvirt.open(libvirt_daemon)
    _remove_leftovers(connection)
    yield connection
    _remove_leftovers(connection)
    connection.close()


def _seed_iso(tmp_path: Path, instance_id: str, hostname: str, user_data: bytes) -> bytes:
    (tmp_path / "user-data").write_bytes(user_data)
    (tmp_path / "meta-data").write_text(f"instance-id: {instance_id}\nlocal-hostname: {hostname}\n")
    iso = tmp_path / "seed.iso"
    try:
        subprocess.run(["genisoimage", "-quiet", "-o", str(iso), "-V", "cidata", "-J", "-r",
                        str(tmp_path / "user-data"), str(tmp_path / "meta-data")], check=True)
    except FileNotFoundError:
        pytest.fail("genisoimage is missing: run scripts/testbed install", pytrace=False)
    return iso.read_bytes()


def _upload(conn: Any, name: str, data: bytes) -> Any:
    pool = conn.storagePoolLookupByName("default")
    volume = pool.createXML(f"<volume><name>{name}</name><capacity unit='bytes'>{len(data)}"
                            "</capacity><target><format type='raw'/></target></volume>", 0)
    stream = conn.newStream(0)
    volume.upload(stream, 0, len(data), 0)
    stream.send(data)
    stream.finish()
    return volume


def _domain_xml(name: str, kind: str, guest: Any, seed: str, network: str,
                serial_log: Path) -> str:
    return f"""<domain type='{kind}'>
  <name>{name}</name>
  <memory unit='MiB'>256</memory>
  <vcpu>1</vcpu>
  <os>
    <type arch='x86_64' machine='pc'>hvm</type>
    <kernel>{guest.kernel}</kernel>
    <initrd>{guest.initrd}</initrd>
    <cmdline>{guest.cmdline}</cmdline>
  </os>
  <features><acpi/></features>
  <on_poweroff>destroy</on_poweroff>
  <devices>
    <disk type='volume' device='disk'>
      <driver name='qemu' type='raw'/>
      <source pool='default' volume='{seed}'/>
      <target dev='vda' bus='virtio'/>
      <readonly/>
    </disk>
    <interface type='network'>
      <source network='{network}'/>
      <model type='virtio'/>
    </interface>
    <serial type='file'>
      <source path='{serial_log}'/>
      <target port='0'/>
    </serial>
  </devices>
</domain>"""


def _wait_for(log: Path, marker: str, timeout: float, domain: Any) -> str:
    deadline = time.monotonic() + timeout
    text = ""
    while time.monotonic() < deadline:
        text = log.read_text(errors="replace") if log.exists() else ""
        if marker in text:
            return text
        assert domain.isActive(), f"the guest stopped before {marker!r}; console:\n{text[-3000:]}"
        time.sleep(0.05)
    pytest.fail(f"no {marker!r} on the console within {timeout:.0f} s; console:\n{text[-3000:]}")


def test_tiny_guest_boots_reads_seed_gets_lease_and_powers_off(
    conn: Any,
    tiny_guest: Any,  # conftest.TinyGuest
    domain_type: str,
    testbed_enter: Callable[..., subprocess.CompletedProcess[str]],
    tmp_path: Path,
) -> None:
    name = f"{PREFIX}{uuid.uuid4().hex[:8]}"
    timings: dict[str, float] = {}
    network = conn.networkDefineXML(f"""<network><name>{name}</name><forward mode='nat'/>
      <ip address='{NETWORK_CIDR}.1' netmask='255.255.255.0'>
        <dhcp><range start='{NETWORK_CIDR}.10' end='{NETWORK_CIDR}.100'/></dhcp>
      </ip></network>""")
    network.create()

    user_data = f"#cloud-config\nhostname: {name}\n".encode()
    _upload(conn, f"{name}-seed.iso", _seed_iso(tmp_path, f"iid-{name}", name, user_data))
    serial_log = tmp_path / "serial.log"
    domain = conn.defineXML(_domain_xml(name, domain_type, tiny_guest, f"{name}-seed.iso",
                                        name, serial_log))

    started = time.monotonic()
    domain.create()
    text = _wait_for(serial_log, "TINY: booted", BOOT_TIMEOUT, domain)
    timings["booted"] = time.monotonic() - started
    text = _wait_for(serial_log, "TINY: ready", BOOT_TIMEOUT, domain)
    timings["ready"] = time.monotonic() - started
    lines = [line.strip() for line in text.splitlines() if line.startswith("TINY:")]

    # The seed was found and read.
    assert f"TINY: seed instance-id=iid-{name}" in lines, lines
    assert f"TINY: seed hostname={name}" in lines, lines
    assert f"TINY: user-data sha256={hashlib.sha256(user_data).hexdigest()}" in lines, lines

    # The address the guest configured is the lease libvirt reports for its MAC.
    match = re.search(r"^TINY: dhcp eth0 (\d+\.\d+\.\d+\.\d+)$", "\n".join(lines), re.MULTILINE)
    assert match, lines
    address = match.group(1)
    assert address.startswith(f"{NETWORK_CIDR}."), address
    mac = re.search(r"<mac address='([0-9a-f:]+)'", domain.XMLDesc(0))
    assert mac
    leases = [(lease["mac"], lease["ipaddr"]) for lease in network.DHCPLeases()]
    assert (mac.group(1), address) in leases, leases

    # Guests are reachable from libvirtd's network namespace.
    ping = testbed_enter("ping", "-c", "1", "-W", "5", address)
    assert ping.returncode == 0, ping.stdout + ping.stderr

    # ACPI power button: the guest powers itself off.
    pressed = time.monotonic()
    domain.shutdown()
    while domain.isActive() and time.monotonic() - pressed < POWEROFF_TIMEOUT:
        time.sleep(0.05)
    timings["poweroff"] = time.monotonic() - pressed
    assert not domain.isActive(), f"still running {POWEROFF_TIMEOUT:.0f} s after ACPI shutdown"
    assert "TINY: poweroff" in serial_log.read_text(errors="replace")
    print(f"domain type {domain_type}: " + ", ".join(f"{k} {v:.1f} s" for k, v in timings.items()))
