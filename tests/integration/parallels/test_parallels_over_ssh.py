"""A block with ``host:`` drives prlctl through the ``ssh`` client: here a stand-in
``ssh`` first on the PATH, which records each connection and runs the remote command
line with ``sh -c`` on this machine, as sshd runs it with the user's shell. The whole
apply (the seed ISO written over ssh included) then sees the fake Mac."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import pytest
from prl_lab import Lab, fake_block
from support.parallels.install import FakeParallels

pytestmark = [pytest.mark.integration,
              pytest.mark.simulator_only("puts a stand-in ssh in front of the fake")]


def _ssh(directory: Path) -> Path:
    directory.mkdir()
    log = directory / "connections.jsonl"
    program = directory / "ssh"
    program.write_text(
        f"#!{sys.executable} -S\nimport json, subprocess, sys\nargs = sys.argv[1:]\n"
        "at = args.index('--')\n"
        f"with open({str(log)!r}, 'a') as f: f.write(json.dumps(args) + '\\n')\n"
        "sys.exit(subprocess.call(['sh', '-c', args[at + 1]]))\n", encoding="utf-8")
    program.chmod(0o755)
    return log


def test_an_apply_over_ssh_reaches_the_mac_and_quotes_every_argument(
        tmp_path: Path, fake: FakeParallels, monkeypatch: pytest.MonkeyPatch) -> None:
    log = _ssh(tmp_path / "bin")
    monkeypatch.setenv("PATH", f"{tmp_path / 'bin'}:{os.environ['PATH']}")
    lab = Lab(tmp_path / "lab", fake_block(fake.program, host="ana@mac-mini",
                                           basefolder=str(tmp_path / "my VMs")))
    lab.write({"app": {"memory": "256MiB", "disks": [{"size": "1GiB"}],
                       "networks": [{"host_network": "shared"}],
                       "cloud_init": {"user_data": "#cloud-config\n"}}})
    lab.applied()

    connections = [json.loads(line) for line in log.read_text().splitlines()]
    assert connections and all(c[c.index("--") - 1] == "ana@mac-mini" for c in connections)
    assert all("BatchMode=yes" in c for c in connections)
    vm = fake.vm("app")
    assert vm["home"] == f"{tmp_path}/my VMs/provisioner-lab/app.pvm/"  # a space, intact
    assert "provisioner:" in vm["description"]  # a JSON marker with quotes, intact
    assert Path(vm["home"], "cidata.iso").read_bytes()[32769:32774] == b"CD001"
