"""stacks/virtualbox-lab applies on the fake VirtualBox host as it is written (only the
VBoxManage program is pointed at the fake), re-plans clean and is destroyed."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import yaml
from support.vbox import FakeVBox
from vbox_lab import Lab

pytestmark = [pytest.mark.integration,
              pytest.mark.simulator_only("points the example at the fake VBoxManage")]

EXAMPLE = Path(__file__).resolve().parents[3] / "stacks" / "virtualbox-lab"


def test_the_virtualbox_lab_example_applies_replans_clean_and_destroys(
        tmp_path: Path, fake: FakeVBox) -> None:
    directory = tmp_path / "virtualbox-lab"
    shutil.copytree(EXAMPLE, directory)
    stack = directory / "stack.yaml"
    document = yaml.safe_load(stack.read_text(encoding="utf-8"))
    document["providers"]["vbox"].update(vboxmanage=str(fake.program), shutdown_timeout=2)
    stack.write_text(yaml.safe_dump(document, sort_keys=False), encoding="utf-8")
    lab = Lab(directory, document["providers"]["vbox"], name="vbox-lab")

    lab.applied()
    lab.clean()
    vms = {vm["name"]: vm for vm in fake.load()["vms"].values()}
    assert sorted(vms) == ["db", "web-0", "web-1"]
    assert [rule["host_port"] for name in ("web-0", "web-1")
            for rule in vms[name]["nics"]["1"]["forwards"]] == [2220, 2221]
    assert vms["db"]["firmware"] == "efi"
    assert {vm["nics"]["2"]["target"] for vm in vms.values()} == {"vbox-lab"}
    lab.destroy()
    assert fake.load()["vms"] == {}
