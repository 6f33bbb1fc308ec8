"""The demo stack (stacks/demo) on the real daemon: three guests boot, read their
cloud-init seed and get DHCP leases; the next plan shows no changes.

The stack is applied once for this module (the longest apply of the suite);
it is renamed so that it cannot collide with someone running the demo
itself: stack ``e2e-demo``, guests ``e2e-node-N``, network ``e2e-demo-lab``
on 10.80.0.0/24. Its leak check runs when the module is done (after the
destroy), not after each test.
"""

from __future__ import annotations

import hashlib
import json
import re
import shutil
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from support.e2e import (
    REPO,
    E2EStack,
    TinyGuest,
    boot_options,
    check_leaks,
    describe,
    serial_log,
    wait_serial,
)

NAME = "e2e-demo"
NETWORK = "e2e-demo-lab"
RENAMES = (  # (old, new, how many times)
    ("stack: demo\n", f"stack: {NAME}\n", 1),
    ("cidr: 10.77.0.0/24", "cidr: 10.80.0.0/24", 1),
    ("\n  lab: {", f"\n  {NETWORK}: {{", 1),
    ("{ network: lab }", f"{{ network: {NETWORK} }}", 1),
    ("\n  node:\n", "\n  e2e-node:\n", 1),
    ("guests.node[", "guests.e2e-node[", 2),
)


@dataclass(frozen=True)
class Demo:
    stack: E2EStack
    apply_seconds: float


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory, libvirt_daemon: str, tiny_guest: TinyGuest,
         conn: Any) -> Iterator[Demo]:
    directory = tmp_path_factory.mktemp("demo") / "demo"
    shutil.copytree(REPO / "stacks" / "demo", directory)
    text = (directory / "stack.yaml").read_text()
    for old, new, count in RENAMES:
        assert text.count(old) == count, f"stacks/demo/stack.yaml changed: {old!r}"
        text = text.replace(old, new)
    (directory / "stack.yaml").write_text(text)
    stack = E2EStack(directory, NAME, libvirt_daemon, boot_options(tiny_guest),
                     variables=(f"kernel={tiny_guest.kernel}", f"initrd={tiny_guest.initrd}"))
    check_leaks(conn, [stack], report=False)  # an interrupted earlier run
    started = time.monotonic()
    try:
        stack.apply()
        yield Demo(stack, time.monotonic() - started)
    finally:
        try:
            stack.destroy()
        finally:
            check_leaks(conn, [stack], report=True)


def test_demo_guests_run_read_their_seed_and_get_the_leases_provisioner_reports(
        demo: Demo, conn: Any, record_property: Any) -> None:
    record_property("demo apply (3 guests, wait_for: ip) seconds", round(demo.apply_seconds, 1))
    print(f"\ndemo apply: {demo.apply_seconds:.1f}s")
    digest = hashlib.sha256((demo.stack.directory / "node.cloud.yaml").read_bytes()).hexdigest()
    guests = {address: guest for address, guest in demo.stack.live().items()
              if address.startswith("guests.")}
    assert sorted(guests) == [f"guests.e2e-node-{i}" for i in range(3)]
    leases = {str(lease["mac"]).lower(): lease["ipaddr"]
              for lease in conn.networkLookupByName(NETWORK).DHCPLeases()}
    shown = demo.stack.cli("show", "--json")
    assert shown.returncode == 0, shown.stderr
    document = json.loads(shown.stdout)
    shown_ips = {r["address"]: r["attributes"].get("ip") for r in document["resources"]}

    ips = []
    for address, guest in sorted(guests.items()):
        assert guest.running, f"{address} is not running"
        assert conn.lookupByName(guest.name).isActive(), f"{address}: domain not active"
        log = serial_log(guest)
        assert log.parent == Path("/var/log/libvirt/qemu"), log
        ip = wait_serial(log, r"^TINY: dhcp eth0 (\S+)$").group(1)
        text = log.read_text().replace("\r", "")
        assert re.search(rf"^TINY: seed instance-id={guest.name}-[0-9a-f]{{12}}$", text,
                         re.MULTILINE), f"{log}: no instance-id marker"
        assert f"\nTINY: seed hostname={guest.name}\n" in text, f"{log}: no hostname marker"
        assert f"\nTINY: user-data sha256={digest}\n" in text, f"{log}: other user-data"
        mac = str(guest.attributes["macs"][0]).lower()
        assert leases.get(mac) == ip, f"{address}: lease of {mac} is {leases.get(mac)}, " \
                                      f"the guest says {ip}"
        assert guest.attributes.get("ip") == ip, f"{address}: the plan's listing says " \
                                                 f"{guest.attributes.get('ip')}"
        assert shown_ips.get(address) == ip, f"{address}: show --json says {shown_ips}"
        ips.append(ip)
    assert document["outputs"]["ips"] == ips
    assert document["outputs"]["names"] == [f"e2e-node-{i}" for i in range(3)]


def test_demo_replans_without_changes_in_process_and_through_the_cli(demo: Demo) -> None:
    plan = demo.stack.plan()
    assert not plan.has_changes, describe(plan)
    result = demo.stack.cli("plan", "--detailed-exitcode", *demo.stack.var_args())
    assert result.returncode == 0, result.stdout + result.stderr
    assert "No changes" in result.stdout
