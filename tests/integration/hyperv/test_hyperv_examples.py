"""stacks/hyperv-lab applies on the fake Hyper-V host as it is written (only the
PowerShell program is pointed at the fake), re-plans clean and is destroyed."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import yaml
from support.hyperv.install import FakeHyperV

from provisioner.apply.progress import CollectingProgress
from provisioner.engine import Engine
from provisioner.plan.model import Action
from provisioner.plan.planner import PlanOptions
from provisioner.stack.loader import load_stack
from provisioner.state.local import SQLiteStore

pytestmark = pytest.mark.simulator_only("points the example at the fake PowerShell")

EXAMPLE = Path(__file__).resolve().parents[3] / "stacks" / "hyperv-lab"


def _engine(directory: Path) -> Engine:
    return Engine(load_stack(directory / "stack.yaml"), SQLiteStore(directory / "state.db"))


def test_the_hyperv_lab_example_applies_replans_clean_and_destroys(
        tmp_path: Path, fake: FakeHyperV) -> None:
    directory = tmp_path / "hyperv-lab"
    shutil.copytree(EXAMPLE, directory)
    stack = directory / "stack.yaml"
    document = yaml.safe_load(stack.read_text(encoding="utf-8"))
    document["providers"]["hv"].update(powershell=str(fake.program), shutdown_timeout=2)
    stack.write_text(yaml.safe_dump(document, sort_keys=False), encoding="utf-8")

    with _engine(directory) as engine:
        assert engine.apply(engine.plan(), CollectingProgress(), 4).ok
    with _engine(directory) as engine:
        assert all(c.action is Action.NOOP for c in engine.plan().changes)
    vms = {vm["Name"]: vm for vm in fake.load()["vms"].values()}
    assert sorted(vms) == ["db", "web-0", "web-1"]
    assert vms["db"]["DynamicMemoryEnabled"] and vms["db"]["MemoryMaximum"] == 4 * 2**30
    assert vms["db"]["NetworkAdapters"][0]["MacAddress"] == "00155D004210"
    assert {vm["SecureBootTemplate"] for vm in vms.values()} == {
        "MicrosoftUEFICertificateAuthority"}
    with _engine(directory) as engine:
        assert engine.apply(engine.plan(PlanOptions(destroy=True)), CollectingProgress(), 4).ok
    assert fake.load()["vms"] == {}
