"""stacks/parallels-lab applies on the fake Mac as it is written (only the prlctl program
is pointed at the fake, which is given the example's host-only network), re-plans clean
and is destroyed."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import yaml
from prl_lab import Lab
from support.parallels.install import FakeParallels

pytestmark = [pytest.mark.integration,
              pytest.mark.simulator_only("points the example at the fake prlctl")]

EXAMPLE = Path(__file__).resolve().parents[3] / "stacks" / "parallels-lab"


def test_the_parallels_lab_example_applies_replans_clean_and_destroys(
        tmp_path: Path, fake: FakeParallels) -> None:
    directory = tmp_path / "parallels-lab"
    shutil.copytree(EXAMPLE, directory)
    stack = directory / "stack.yaml"
    document = yaml.safe_load(stack.read_text(encoding="utf-8"))
    document["providers"]["mac"].update(prlctl=str(fake.program), shutdown_timeout=2)
    stack.write_text(yaml.safe_dump(document, sort_keys=False), encoding="utf-8")
    with fake.edit() as state:
        state["networks"].append({"id": "pd-lab", "type": "host-only", "bound_to": "vnic3"})
    lab = Lab(directory, document["providers"]["mac"], name="pd-lab")

    lab.applied()
    lab.clean()
    vms = {vm["name"]: vm for vm in fake.load()["vms"].values()}
    assert sorted(vms) == ["db", "web-0", "web-1"]
    assert {vm["devices"]["net1"]["iface"] for vm in vms.values()} == {"pd-lab"}
    assert [key for key in vms["db"]["devices"] if key.startswith("hdd")] == ["hdd0", "hdd1"]
    assert {vm["os"] for vm in vms.values()} == {"debian"}
    lab.destroy()
    assert fake.load()["vms"] == {}
