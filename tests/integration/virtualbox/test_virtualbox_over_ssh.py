"""A block with ``host:`` drives VBoxManage through the ``ssh`` client: here a stand-in
``ssh`` first on the PATH, which records each connection and runs the remote command
line with ``sh -c`` on this machine, as sshd runs it with the user's shell. The whole
apply (the seed ISO written over ssh included) then sees the fake VirtualBox."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from support.ssh_standin import install_ssh
from support.vbox import FakeVBox
from vbox_lab import Lab, fake_block

pytestmark = [pytest.mark.integration,
              pytest.mark.simulator_only("puts a stand-in ssh in front of the fake")]


def test_an_apply_over_ssh_reaches_the_host_and_quotes_every_argument(
        tmp_path: Path, fake: FakeVBox, monkeypatch: pytest.MonkeyPatch) -> None:
    log = install_ssh(tmp_path / "bin")
    monkeypatch.setenv("PATH", f"{tmp_path / 'bin'}:{os.environ['PATH']}")
    lab = Lab(tmp_path / "lab", fake_block(fake.program, host="ana@vbox-host",
                                           basefolder=str(tmp_path / "my VMs")))
    lab.write({"app": {"memory": "256MiB", "disks": [{"size": "1GiB"}],
                       "networks": [{"host_network": "nat"}],
                       "cloud_init": {"user_data": "#cloud-config\n"}}})
    lab.applied()
    lab.clean()

    connections = [json.loads(line) for line in log.read_text().splitlines()]
    assert connections and all(c[c.index("--") - 1] == "ana@vbox-host" for c in connections)
    assert all("BatchMode=yes" in c for c in connections)
    vm = fake.vm("app")
    assert vm["config_file"] == f"{tmp_path}/my VMs/app/app.vbox"  # a space, intact
    (seed,) = fake.load()["dvds"].values()
    assert Path(seed["location"]).read_bytes()[32769:32774] == b"CD001"
