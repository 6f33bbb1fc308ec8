"""qemu networks end to end, without root: three tiny guests on one private network
reach each other at the addresses the stack gives them (delivered by the seed's
network-config), and each answers on the host port its user-mode NIC forwards.
The guests' own user-data script pings its peers and prints what it reached."""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from support.e2e import TinyGuest, boot_options, wait_serial
from support.qemu_lab import QemuLab, lab_for

PEERS = ("10.77.0.10", "10.77.0.11", "10.77.0.12")
STACK = """apiVersion: provisioner/v1
stack: {stack}
providers:
  local: {{ type: qemu, dir: .provisioner/qemu, accel: tcg, stop_timeout: 30 }}
networks:
  lab: {{ provider: local, mode: private, cidr: 10.77.0.0/24 }}
  outside: {{ provider: local, mode: user }}
guests:
  node:
    provider: local
    count: 3
    memory: 192MiB
    networks:
      - {{ network: lab, ip: "10.77.0.1${{count.index}}" }}
      - {{ network: outside, forwards: [{{ host: "{port}${{count.index}}", guest: 22 }}] }}
    cloud_init:
      user_data: |
        #!/bin/sh
        (while :; do echo "SSH-2.0-tiny-$(hostname)" | nc -l -p 22; done) &
        for peer in {peers}; do
          n=0
          until ping -c 1 -W 1 $peer >/dev/null 2>&1 || [ $n -ge 60 ]; do n=$((n + 1)); done
          ping -c 1 -W 1 $peer >/dev/null 2>&1 && echo "TINY: reached $peer" \\
            || echo "TINY: unreachable $peer"
        done
    options: {{ {boot} }}
"""


@pytest.fixture
def lab(tmp_path: Path, tiny_guest: TinyGuest) -> Iterator[QemuLab]:
    yield from lab_for(tmp_path, tiny_guest, "qemu-networks")


def _free_port_prefix() -> int:
    """A four-digit prefix P such that host ports P0..P2 are free here."""
    for prefix in range(2230, 6500, 7):
        if all(_free(prefix * 10 + index) for index in range(3)):
            return prefix
    raise AssertionError("no three free ports in a row")


def _free(port: int) -> bool:
    with socket.socket() as probe:
        return probe.connect_ex(("127.0.0.1", port)) != 0


def _banner(port: int, deadline: float) -> str:
    """The first line the guest's forwarded port sends, retried until ``deadline``."""
    while True:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=5) as conn:
                line = conn.makefile("r").readline().strip()
                if line:
                    return line
        except OSError:
            pass
        if time.monotonic() > deadline:
            return ""
        time.sleep(0.5)


def test_private_network_peers_reach_each_other_and_forwards_answer(lab: QemuLab) -> None:
    prefix = _free_port_prefix()
    text = STACK.format(stack=lab.stack, port=prefix, peers=" ".join(PEERS),
                        boot=boot_options(lab.tiny))
    (lab.directory / "stack.yaml").write_text(text, encoding="utf-8")
    lab.apply()
    for index in range(3):
        console = lab.console(f"node-{index}")
        wait_serial(console, rf"^TINY: static eth0 {PEERS[index]}/24$")
        wait_serial(console, r"^TINY: dhcp eth1 10\.0\.2\.15$")  # QEMU's user-mode DHCP
        for peer in PEERS:
            wait_serial(console, rf"^TINY: reached {peer}$", timeout=120)
    deadline = time.monotonic() + 60
    banners = [_banner(prefix * 10 + index, deadline) for index in range(3)]
    assert banners == [f"SSH-2.0-tiny-node-{index}" for index in range(3)]
    assert lab.changes() == {}, "a plan right after the apply has changes"

    # A network's new cidr replaces it, and restarts the guests attached (in one plan).
    (lab.directory / "stack.yaml").write_text(
        text.replace("mode: user }", "mode: user, cidr: 10.9.0.0/24 }"), encoding="utf-8")
    assert lab.changes() == {"networks.outside": "replace", "guests.node-0": "update",
                             "guests.node-1": "update", "guests.node-2": "update"}
    assert lab.cli("plan").stdout.count("re-attach to the replaced networks.outside") == 3
    lab.apply()
    for index in range(3):
        wait_serial(lab.console(f"node-{index}"), r"^TINY: dhcp eth1 10\.9\.0\.15$")
    assert lab.changes() == {}

    lab.cli("destroy", "--auto-approve")
    assert lab.processes() == []
    assert not (lab.directory / ".provisioner" / "qemu" / lab.stack).exists()
    assert all(_free(prefix * 10 + index) for index in range(3)), "a forward still listens"
