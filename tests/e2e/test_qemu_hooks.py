"""after_create / after_update hooks on a real QEMU guest: they run once it answers SSH
(wait_for), in order, with the guest's facts in their environment and their output
printed with its name; a changed hook reruns in place (no restart: the same QEMU
process); a failing one fails the step and runs again on the next apply."""

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
  web:
    provider: local
    memory: 192MiB
    networks: [ {{ network: outside, forwards: [{{ host: {port}, guest: 22 }}] }} ]
    cloud_init:
      user_data: |
        #!/bin/sh
        (while :; do echo "SSH-2.0-tiny" | nc -l -p 22; done) &
    wait_for: ssh
    wait_timeout: 240
    after_create:
      - local: >-
          echo "$PROVISIONER_GUEST $PROVISIONER_ADDRESS $PROVISIONER_IP:$PROVISIONER_PORT"
          >> hooks.log
      - local: echo {created}
    after_update:
      - local: {update}
    options: {{ {boot} }}
"""


@pytest.fixture
def lab(tmp_path: Path, tiny_guest: TinyGuest) -> Iterator[QemuLab]:
    yield from lab_for(tmp_path, tiny_guest, "qemu-hooks")



def test_hooks_run_once_ready_rerun_when_changed_and_retry_when_failed(lab: QemuLab) -> None:
    port = free_port()

    def write(created: str, update: str) -> None:
        (lab.directory / "stack.yaml").write_text(STACK.format(
            stack=lab.stack, port=port, created=created, update=update,
            boot=boot_options(lab.tiny)), encoding="utf-8")

    write("created-one", "echo updated >> hooks.log")
    out = lab.apply().stdout
    assert "web | created-one" in out
    log = lab.directory / "hooks.log"
    assert log.read_text() == f"web guests.web 127.0.0.1:{port}\n"
    assert lab.changes() == {}
    pid = lab.pid("web")

    write("created-two", "echo updated >> hooks.log")
    assert '"hooks.after_create"' in lab.cli("plan", "--json").stdout
    out = lab.apply().stdout
    assert "web | created-two" in out
    assert log.read_text().splitlines()[1:] == [f"web guests.web 127.0.0.1:{port}", "updated"]
    assert lab.pid("web") == pid  # in place: the guest was not restarted
    assert lab.changes() == {}

    write("created-two", "exit 3")
    failed = lab.apply(check=False)
    assert failed.returncode == 1
    assert "after_update[0] exited 3" in failed.stdout + failed.stderr
    assert lab.changes() == {"guests.web": "update"}  # it runs again next time
    write("created-two", "echo fixed >> hooks.log")
    lab.apply()
    assert log.read_text().splitlines()[-1] == "fixed"
    assert lab.changes() == {}
    lab.cli("destroy", "--auto-approve")
