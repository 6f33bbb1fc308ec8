"""inventory, ssh-config and ssh from the command line, checked by the real programs that
read them: Ansible's ansible-inventory (a YAML file and a dynamic inventory script) and
OpenSSH's ssh (-G parses the Host blocks; a stand-in ssh records what it is run with).

The state holds records as an apply on guests with addresses leaves them (written
with the state store itself: libvirt's test driver has no addresses to give)."""

from __future__ import annotations

import json
import os
import shutil
import stat
import subprocess
from pathlib import Path

import pytest

from provisioner.core.address import Address
from provisioner.state.local import SQLiteStore
from provisioner.state.store import AppliedRecord

STACK = """\
apiVersion: provisioner/v1
stack: lab
providers:
  kvm: {type: libvirt, uri: "test:///default"}
guests:
  web:
    provider: kvm
    count: 2
    groups: [frontend]
    cloud_init: {user_data: "#cloud-config\\nusers: [default, {name: debian}]\\n"}
  db:
    provider: kvm
    ssh: {user: admin, port: 2201, identity_file: /keys/lab}
"""


@pytest.fixture
def lab(tmp_path: Path) -> Path:
    (tmp_path / "stack.yaml").write_text(STACK)
    (tmp_path / ".provisioner").mkdir()
    store = SQLiteStore(tmp_path / ".provisioner" / "lab.db")
    for name, ip in (("web-0", "10.0.0.10"), ("web-1", "10.0.0.11"), ("db", "10.0.0.20")):
        address = Address.parse(f"guests.{name}")
        store.record_applied(AppliedRecord(address, "kvm", {}, name=name,
                                           attributes={"ip": ip, "node": "kvm1"}))
    store.close()
    return tmp_path


def _run(*args: str, cwd: Path, env: dict[str, str] | None = None
         ) -> subprocess.CompletedProcess[str]:
    return subprocess.run(list(args), cwd=cwd, capture_output=True, text=True, timeout=120,
                          check=False, env=env)


@pytest.mark.skipif(shutil.which("ansible-inventory") is None,
                    reason="pip install ansible-core (a dev dependency)")
def test_ansible_reads_the_inventory_file_and_the_script(lab: Path) -> None:
    printed = _run("provisioner", "inventory", ".", cwd=lab)
    assert printed.returncode == 0, printed.stderr
    (lab / "hosts.yml").write_text(printed.stdout)
    script = lab / "inventory.sh"
    script.write_text(f'#!/bin/sh\nexec provisioner inventory "{lab}" "$@"\n')
    script.chmod(script.stat().st_mode | stat.S_IXUSR)
    for source in ("hosts.yml", "inventory.sh"):
        parsed = _run("ansible-inventory", "-i", source, "--list", cwd=lab)
        assert parsed.returncode == 0, parsed.stderr
        assert "[WARNING]" not in parsed.stderr, parsed.stderr
        document = json.loads(parsed.stdout)
        assert sorted(document["frontend"]["hosts"]) == ["web-0", "web-1"]
        assert sorted(document["web"]["hosts"]) == ["web-0", "web-1"]
        hostvars = document["_meta"]["hostvars"]
        assert hostvars["web-1"]["ansible_host"] == "10.0.0.11"
        assert hostvars["web-1"]["ansible_user"] == "debian"
        assert hostvars["db"]["ansible_port"] == 2201
        assert hostvars["db"]["provisioner_node"] == "kvm1"
    one = _run("ansible-inventory", "-i", "inventory.sh", "--host", "db", cwd=lab)
    assert json.loads(one.stdout)["ansible_ssh_private_key_file"] == "/keys/lab"


def test_openssh_reads_the_host_blocks(lab: Path) -> None:
    printed = _run("provisioner", "ssh-config", ".", cwd=lab)
    assert printed.returncode == 0, printed.stderr
    (lab / "ssh.conf").write_text(printed.stdout)
    parsed = _run("ssh", "-G", "-F", "ssh.conf", "db", cwd=lab)
    assert parsed.returncode == 0, parsed.stderr
    options = dict(line.split(" ", 1) for line in parsed.stdout.splitlines() if " " in line)
    assert (options["hostname"], options["port"], options["user"]) == (
        "10.0.0.20", "2201", "admin")
    assert options["identityfile"] == "/keys/lab"


def test_ssh_runs_ssh_with_what_the_state_knows(lab: Path) -> None:
    bin_dir = lab / "bin"
    bin_dir.mkdir()
    fake = bin_dir / "ssh"  # records its argv where the real client would connect
    fake.write_text(f'#!/bin/sh\nprintf "%s\\n" "$@" > "{lab}/argv"\n')
    fake.chmod(0o755)
    env = {**os.environ, "PATH": f"{bin_dir}:{os.environ['PATH']}"}
    ran = _run("provisioner", "ssh", "web-1", "-s", ".", "--", "uptime", "-p", cwd=lab,
               env=env)
    assert ran.returncode == 0, ran.stderr
    assert (lab / "argv").read_text().split() == ["--", "debian@10.0.0.11", "uptime", "-p"]
    shown = _run("provisioner", "ssh", "guests.db", "-s", ".", "--print", cwd=lab)
    assert shown.stdout.strip() == "ssh -p 2201 -i /keys/lab -- admin@10.0.0.20"
    missing = _run("provisioner", "ssh", "web-9", "-s", ".", cwd=lab)
    assert missing.returncode == 1
    assert "no guest 'web-9' in the state (guests: db, web-0, web-1)" in missing.stderr
    assert "Traceback" not in missing.stderr


def test_console_names_the_hypervisors_console(lab: Path) -> None:
    shown = _run("provisioner", "console", "web-0", "-s", ".", "--print", cwd=lab)
    assert shown.returncode == 0, shown.stderr
    assert shown.stdout.strip() == "virsh -c test:///default console web-0"
    (lab / "stack.yaml").write_text(STACK.replace(
        'kvm: {type: libvirt, uri: "test:///default"}',
        "kvm: {type: qemu, dir: .provisioner/qemu}"))
    followed = _run("provisioner", "console", "guests.db", "-s", ".", "--print", cwd=lab)
    assert followed.stdout.strip() == (
        f"tail -n 100 -F {lab}/.provisioner/qemu/lab/kvm/db/serial.log")


def test_before_any_apply_the_commands_say_why_they_list_nothing(tmp_path: Path) -> None:
    (tmp_path / "stack.yaml").write_text(STACK)
    for command in ("inventory", "ssh-config"):
        result = _run("provisioner", command, cwd=tmp_path)
        assert result.returncode == 0, result.stderr
        assert "no guest of stack lab is recorded yet: run provisioner apply first" \
            in result.stderr, (command, result.stderr)
        assert "recorded yet" not in result.stdout, "the note would corrupt the inventory"
