"""Every vSphere example stack under stacks/: plan, apply, and a plan right after shows
no changes (no perpetual diff), on the simulator of the model it is written for
(a stack whose provider blocks name a cluster runs on the vCenter simulator,
the others on the ESXi one). The stacks' defaults are the simulators' names;
only the server, port, user and CA file are set, as the stack's comments say."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import yaml
from support.plans import assert_example_round_trip
from support.vcsim import PASSWORD_ENV, USERNAME, Simulator, missing, session_simulator

from provisioner.stack.variables import VariableInputs

ROOT = Path(__file__).resolve().parents[3]


def _examples() -> list[Path]:
    found = []
    for path in sorted((ROOT / "stacks").rglob("stack.yaml")):
        document = yaml.safe_load(path.read_text(encoding="utf-8"))
        if any(block.get("type") == "vsphere"
               for block in (document.get("providers") or {}).values()):
            found.append(path)
    return found


EXAMPLES = _examples()


def _model(path: Path) -> str:
    document = yaml.safe_load(path.read_text(encoding="utf-8"))
    blocks = [b for b in document["providers"].values() if b.get("type") == "vsphere"]
    return "vpx" if any("cluster" in block for block in blocks) else "esx"


def test_there_are_vsphere_examples_for_vcenter_and_esxi() -> None:
    assert {_model(path) for path in EXAMPLES} == {"vpx", "esx"}


@pytest.mark.simulator_only(
    "applies the example stacks, which name the simulator's inventory, on the session's own "
    "simulators")
@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.parent.name)
def test_example_has_no_perpetual_diff(path: Path, request: pytest.FixtureRequest,
                                       tmp_path_factory: pytest.TempPathFactory,
                                       tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    if (reason := missing()) is not None:
        pytest.skip(reason)
    simulator: Simulator = session_simulator(request.config, _model(path),
                                             tmp_path_factory.getbasetemp() / "vcsim")
    request.addfinalizer(simulator.reset)
    monkeypatch.setenv("VSPHERE_PASSWORD", os.environ[PASSWORD_ENV])
    server = {"vpx": "vcenter", "esx": "esxi"}[simulator.model]
    inputs = VariableInputs(assignments=[
        f"{server}=127.0.0.1", f"port={simulator.port}", f"username={USERNAME}",
        f"ca_file={simulator.cafile}"])
    assert_example_round_trip(path, inputs, tmp_path / "state.db")
