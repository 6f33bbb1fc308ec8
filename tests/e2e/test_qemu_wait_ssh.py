"""wait_for: ssh on real QEMU guests: apply waits until a guest answers SSH on the host
port its user-mode NIC forwards to its port 22, and a guest that never answers fails
its step by name, with its dependent skipped (the guest itself stays, recorded).

The tiny guest has no SSH server: its user-data starts one that sends an SSH banner
(``nc``) after a delay, which is all ``wait_for: ssh`` looks for; ``mute`` runs none,
and QEMU's forward then accepts and closes, as a real guest without sshd would."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from support.e2e import TinyGuest, boot_options
from support.qemu_lab import QemuLab, free_port, lab_for

STACK = """apiVersion: provisioner/v1
stack: {stack}
providers:
  local: {{ type: qemu, dir: .provisioner/qemu, accel: tcg, stop_timeout: 30 }}
networks:
  outside: {{ provider: local, mode: user }}
guests:
  ready:
    provider: local
    memory: 192MiB
    networks: [ {{ network: outside, forwards: [{{ host: {ready}, guest: 22 }}] }} ]
    cloud_init:
      user_data: |
        #!/bin/sh
        sleep 3
        (while :; do echo "SSH-2.0-tiny-ready" | nc -l -p 22; done) &
    wait_for: ssh
    wait_timeout: 240
    options: {{ {boot} }}
  mute:
    provider: local
    memory: 192MiB
    networks: [ {{ network: outside, forwards: [{{ host: {mute}, guest: 22 }}] }} ]
    cloud_init: {{ user_data: "#cloud-config\\n" }}
    wait_for: ssh
    wait_timeout: 20
    options: {{ {boot} }}
  after:
    provider: local
    memory: 128MiB
    power: stopped
    depends_on: [guests.mute]
"""


@pytest.fixture
def lab(tmp_path: Path, tiny_guest: TinyGuest) -> Iterator[QemuLab]:
    yield from lab_for(tmp_path, tiny_guest, "qemu-wait-ssh")



def test_apply_waits_for_ssh_and_a_guest_that_never_answers_fails(lab: QemuLab) -> None:
    text = STACK.format(stack=lab.stack, ready=free_port(), mute=free_port(),
                        boot=boot_options(lab.tiny))
    (lab.directory / "stack.yaml").write_text(text, encoding="utf-8")
    applied = lab.apply(check=False)
    out = applied.stdout + applied.stderr
    assert applied.returncode == 1, out
    assert "guests.ready: creating, then waiting for ssh..." in out
    assert "guests.ready: created" in out
    assert "guests.mute: create FAILED: no SSH server answered on 127.0.0.1:" in out
    assert "within 20s (wait_for: ssh)" in out
    assert "guests.after: create skipped" in out
    shown = lab.cli("show", "--json").stdout
    assert '"guests.mute"' in shown and '"guests.after"' not in shown  # recorded, not lost
    lab.cli("destroy", "--auto-approve")
    assert lab.processes() == []
