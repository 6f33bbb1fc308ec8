"""stacks/vmware-desktop-lab applies on the fake VMware host as it is written (only the
programs and the basefolder are pointed at the fake), re-plans clean and is destroyed."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import yaml
from support.vmware_desktop import FakeVmware
from vmware_lab import Lab

pytestmark = [pytest.mark.integration,
              pytest.mark.simulator_only("points the example at the fake vmrun")]

EXAMPLE = Path(__file__).resolve().parents[3] / "stacks" / "vmware-desktop-lab"


def test_the_vmware_desktop_lab_example_applies_replans_clean_and_destroys(
        tmp_path: Path, fake: FakeVmware) -> None:
    directory = tmp_path / "vmware-desktop-lab"
    shutil.copytree(EXAMPLE, directory)
    stack = directory / "stack.yaml"
    document = yaml.safe_load(stack.read_text(encoding="utf-8"))
    block = document["providers"]["desk"]
    block.update(vmrun=str(fake.vmrun), disk_tool=str(fake.vdiskmanager),
                 basefolder=str(fake.basefolder), shutdown_timeout=2)
    stack.write_text(yaml.safe_dump(document, sort_keys=False), encoding="utf-8")
    lab = Lab(directory, block)

    result = lab.cli("apply", "--auto-approve", rewrite=False)
    assert result.returncode == 0, result.stdout + result.stderr
    assert lab.cli("plan", "--detailed-exitcode", rewrite=False).returncode == 0
    assert fake.names() == ["db", "web-0", "web-1"]
    assert {fake.vmx(name)["ethernet1.vnet"] for name in fake.names()} == {"vmnet2"}
    assert fake.vmx("db")["scsi0:1.filename"] == "db-disk1.vmdk"
    result = lab.cli("destroy", "--auto-approve", rewrite=False)
    assert result.returncode == 0, result.stdout + result.stderr
    assert fake.names() == []
