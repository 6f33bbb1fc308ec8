"""The lab of docs/access.md, "From boot to ready", on real libvirtd + QEMU.

Apply a guest on a NAT network and wait until it answers SSH and its cloud-init has
finished; configure it with a real `ansible-playbook` through `provisioner inventory`;
snapshot it; break what the playbook made over `provisioner ssh`; revert; the file is
back and a plan shows no change. Every command runs inside the testbed's network
namespace (the only place the guest's DHCP address is reachable from), as the console
script a user runs.

The tiny guest stands in for a cloud image: it has no cloud-init, so its user-data
script starts dropbear with the test's key and installs a stand-in `cloud-init
status --wait`; and no Python, so the playbook uses Ansible's `raw` module. Its root
file system lives in memory, so the revert restores the running guest's memory
snapshot (libvirt's internal snapshot of a running domain).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from support.e2e import PROVISIONER, E2EStack, ssh_without_host_keys

BODY = """
networks:
  btr-net: {{ provider: kvm, cidr: 10.89.7.0/24 }}
guests:
  btr-web:
    provider: kvm
    memory: 160MiB
    groups: [web]
    disks: [ {{ size: 64MiB }} ]
    networks: [ {{ network: btr-net }} ]
    cloud_init:
      user_data: |
        #!/bin/sh
        mkdir -p /root/.ssh && chmod 700 /root/.ssh
        echo "{key}" > /root/.ssh/authorized_keys && chmod 600 /root/.ssh/authorized_keys
        printf '#!/bin/sh\\nwhile [ ! -e /run/done ]; do sleep 1; done\\necho "status: done"\\n' \\
          > /usr/bin/cloud-init && chmod 755 /usr/bin/cloud-init
        dropbear -R -E -p 22 && echo "TINY: sshd"
        sleep 2; touch /run/done
    ssh: {{ user: root, identity_file: {identity} }}
    wait_for: cloud-init
    wait_timeout: 240
    after_create:
      - echo "first boot done on $(hostname)"
    options: {{ BOOT_OPTIONS }}
"""

Run = subprocess.CompletedProcess[str]

PLAYBOOK = """- hosts: web
  gather_facts: false
  tasks:
    - name: leave a mark
      raw: echo configured-by-ansible > /root/configured
"""


@pytest.fixture
def in_netns(monkeypatch: pytest.MonkeyPatch, tmp_path: Path,
             testbed_enter: Callable[..., subprocess.CompletedProcess[str]]
             ) -> Callable[..., subprocess.CompletedProcess[str]]:
    """Runs a command in the testbed's network namespace with this test's environment:
    an `ssh` first on PATH that neither checks nor remembers the guest's new host key
    (as `provisioner ssh` users would with their own ~/.ssh/config), Ansible likewise."""
    monkeypatch.setenv("PATH", f"{ssh_without_host_keys(tmp_path)}:{os.environ['PATH']}")
    monkeypatch.setenv("ANSIBLE_HOME", str(tmp_path / "ansible"))
    monkeypatch.setenv("ANSIBLE_HOST_KEY_CHECKING", "False")
    monkeypatch.setenv("ANSIBLE_SSH_ARGS", "-o ControlMaster=no -o UserKnownHostsFile=/dev/null")
    script = Path(__file__).parents[2] / "scripts" / "testbed"

    def run(*command: str, timeout: float = 300) -> subprocess.CompletedProcess[str]:
        return subprocess.run([str(script), "enter", *command], capture_output=True, text=True,
                              timeout=timeout, check=False, stdin=subprocess.DEVNULL,
                              cwd=tmp_path)
    return run


def _ok(result: subprocess.CompletedProcess[str]) -> str:
    assert result.returncode == 0, f"exit {result.returncode}:\n{result.stdout}{result.stderr}"
    return result.stdout


@pytest.mark.skipif(shutil.which("ansible-playbook") is None,
                    reason="pip install ansible-core (a dev dependency)")
def test_apply_playbook_snapshot_break_revert(new_stack: Callable[..., E2EStack],
                                              in_netns: Callable[..., Run],
                                              tmp_path: Path) -> None:
    identity = tmp_path / "id_ed25519"
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(identity)],
                   check=True)
    stack = new_stack()
    stack.write(BODY.format(key=(tmp_path / "id_ed25519.pub").read_text().strip(),
                            identity=identity))
    where = str(stack.directory)

    applied = _ok(in_netns(PROVISIONER, "apply", where, "--auto-approve"))
    assert "guests.btr-web: creating, then waiting for cloud-init..." in applied
    assert "btr-web | first boot done on btr-web" in applied

    inventory = tmp_path / "inventory.yml"
    inventory.write_text(_ok(in_netns(PROVISIONER, "inventory", where)))
    (tmp_path / "site.yml").write_text(PLAYBOOK)
    played = _ok(in_netns("ansible-playbook", "-i", str(inventory), str(tmp_path / "site.yml")))
    assert "btr-web" in played and "failed=0" in played, played

    def ssh(*command: str) -> subprocess.CompletedProcess[str]:
        return in_netns(PROVISIONER, "ssh", "btr-web", "-s", where, "--", *command, timeout=120)

    assert _ok(ssh("cat", "/root/configured")).strip() == "configured-by-ansible"
    taken = _ok(in_netns(PROVISIONER, "snapshot", "create", "configured", where))
    assert "guests.btr-web: took snapshot configured (disks and memory)" in taken

    _ok(ssh("rm", "/root/configured"))
    assert ssh("cat", "/root/configured").returncode != 0, "the break did not happen"

    _ok(in_netns(PROVISIONER, "snapshot", "revert", "configured", where, "--auto-approve"))
    deadline = time.monotonic() + 60
    back = ssh("cat", "/root/configured")
    while back.returncode != 0 and time.monotonic() < deadline:
        time.sleep(2)
        back = ssh("cat", "/root/configured")
    assert _ok(back).strip() == "configured-by-ansible"

    replan = in_netns(PROVISIONER, "plan", where, "--detailed-exitcode")
    assert replan.returncode == 0, replan.stdout + replan.stderr
    stack.destroy()
