"""SSH into a real guest: the tiny guest starts Debian's dropbear with a key the test
makes; apply waits until it answers and cloud-init has finished (wait_for:
cloud-init, asked over ssh), runs an ssh hook on it, and `provisioner ssh` runs a
command there through the real OpenSSH client. The guest's port 22 is reached
through the host port its user-mode NIC forwards. (The tiny guest has no
cloud-init: its user-data installs a stand-in `cloud-init status --wait` that
returns once the script has finished.)"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from support.e2e import (
    PROVISIONER,
    TinyGuest,
    boot_options,
    ssh_without_host_keys,
    wait_serial,
)
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
        mkdir -p /root/.ssh && chmod 700 /root/.ssh
        echo "{key}" > /root/.ssh/authorized_keys && chmod 600 /root/.ssh/authorized_keys
        printf '#!/bin/sh\\nwhile [ ! -e /run/done ]; do sleep 1; done\\necho "status: done"\\n' \\
          > /usr/bin/cloud-init && chmod 755 /usr/bin/cloud-init
        dropbear -R -E -p 22 && echo "TINY: sshd"
        sleep 4; touch /run/done; echo "TINY: cloud-init done"
    ssh: {{ user: root, identity_file: {identity} }}
    wait_for: cloud-init
    wait_timeout: 240
    after_create:
      - test -e /run/done && echo "hello from $(hostname) as $(id -u), cloud-init done"
    options: {{ {boot} }}
"""


@pytest.fixture
def lab(tmp_path: Path, tiny_guest: TinyGuest) -> Iterator[QemuLab]:
    yield from lab_for(tmp_path, tiny_guest, "qemu-ssh")



def test_ssh_hooks_and_provisioner_ssh_reach_a_real_ssh_server(lab: QemuLab) -> None:
    identity = lab.directory / "id_ed25519"
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(identity)],
                   check=True)
    key = (lab.directory / "id_ed25519.pub").read_text().strip()
    (lab.directory / "stack.yaml").write_text(STACK.format(
        stack=lab.stack, port=free_port(), key=key, identity=identity,
        boot=boot_options(lab.tiny)), encoding="utf-8")
    out = lab.apply().stdout
    assert "guests.web: creating, then waiting for cloud-init..." in out
    # the hook ran on the guest, as root, once the stand-in cloud-init had finished
    assert "web | hello from web as 0, cloud-init done" in out
    wait_serial(lab.console("web"), r"^TINY: cloud-init done$")

    # `provisioner ssh` runs the user's ssh: a wrapper keeps this test's host keys out
    # of root's known_hosts (the guest's key is new at each run)
    env = {**os.environ, "PATH": f"{ssh_without_host_keys(lab.directory)}:{os.environ['PATH']}"}
    ran = subprocess.run([PROVISIONER, "ssh", "web", "-s", str(lab.directory), "--",
                          "cat", "/proc/sys/kernel/hostname"], capture_output=True,
                         text=True, timeout=120, env=env, stdin=subprocess.DEVNULL,
                         check=False)
    assert ran.returncode == 0, ran.stderr
    assert ran.stdout.strip() == "web"
    lab.cli("destroy", "--auto-approve")
