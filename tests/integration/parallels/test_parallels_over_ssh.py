"""A block with ``host:`` drives prlctl through the ``ssh`` client: here a stand-in
``ssh`` first on the PATH, which records each connection and runs the remote command
line with ``sh -c`` on this machine, as sshd runs it with the user's shell. The whole
apply (the seed ISO written over ssh included) then sees the fake Mac."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from prl_lab import Lab, fake_block
from support.cli_lab import stand_in_ssh
from support.parallels.install import FakeParallels

pytestmark = [pytest.mark.integration,
              pytest.mark.simulator_only("puts a stand-in ssh in front of the fake")]


def test_an_apply_over_ssh_reaches_the_mac_and_quotes_every_argument(
        tmp_path: Path, fake: FakeParallels, monkeypatch: pytest.MonkeyPatch) -> None:
    log = stand_in_ssh(tmp_path / "bin")
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
