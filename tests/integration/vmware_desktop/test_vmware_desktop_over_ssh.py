"""A block with ``host:`` drives vmrun through the ``ssh`` client: here a stand-in ``ssh``
first on the PATH, which records each connection and runs the remote command line with
``sh -c`` on this machine, as sshd runs it with the user's shell. The whole apply (the
.vmx written over ssh, the bulk read's shell script) then sees the fake VMware host."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from support.cli_lab import stand_in_ssh
from support.vmware_desktop import FakeVmware
from vmware_lab import Lab

pytestmark = [pytest.mark.integration,
              pytest.mark.simulator_only("puts a stand-in ssh in front of the fake")]


def test_an_apply_over_ssh_reaches_the_host_and_quotes_every_argument(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    log = stand_in_ssh(tmp_path / "bin")
    monkeypatch.setenv("PATH", f"{tmp_path / 'bin'}:{os.environ['PATH']}")
    fake = FakeVmware(tmp_path / "my vmware")  # a space in every path
    lab = Lab(tmp_path / "lab", fake.block(host="ana@vmware-host"))
    lab.put(app={"memory": "256MiB", "disks": [{"size": "1GiB"}],
                 "networks": [{"host_network": "nat"}],
                 "cloud_init": {"user_data": "#cloud-config\n"}})
    lab.applied()
    lab.clean()

    connections = [json.loads(line) for line in log.read_text().splitlines()]
    assert connections and all(c[c.index("--") - 1] == "ana@vmware-host" for c in connections)
    assert all("BatchMode=yes" in c for c in connections)
    assert fake.running("app") and fake.vmx("app")["guestinfo.userdata.encoding"] == "base64"
    lab.put()
    lab.applied()
    assert fake.names() == []
