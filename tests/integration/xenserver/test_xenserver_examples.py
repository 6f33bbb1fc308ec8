"""Every XenServer example stack under stacks/: apply on the XAPI simulator, then a plan
right after shows no changes (no perpetual diff) and every output has a value; then
destroy leaves nothing of it. Only the url, user and CA file are set, as the stack's
comments say: its defaults are the simulator's names."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from support.plans import assert_example_round_trip, failures
from support.xapi import XapiSimulator

from provisioner.apply.progress import CollectingProgress
from provisioner.engine import Engine
from provisioner.plan.planner import PlanOptions
from provisioner.stack.loader import load_stack
from provisioner.stack.variables import VariableInputs
from provisioner.state.local import SQLiteStore

pytestmark = [pytest.mark.integration, pytest.mark.simulator_only(
    "applies the example stacks, which name the simulator's templates, SRs and hosts")]
ROOT = Path(__file__).resolve().parents[3]
EXAMPLES = [path for path in sorted((ROOT / "stacks").rglob("stack.yaml"))
            if any(block.get("type") == "xenserver" for block in (yaml.safe_load(
                path.read_text(encoding="utf-8")).get("providers") or {}).values())]


def test_there_is_a_xenserver_example() -> None:
    assert [path.parent.name for path in EXAMPLES] == ["xcp-lab"]


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.parent.name)
def test_example_has_no_perpetual_diff(path: Path, xapi_sim: XapiSimulator, tmp_path: Path,
                                       monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XAPI_PASSWORD", "secret")
    inputs = VariableInputs(assignments=[f"url={xapi_sim.url}", "username=root",
                                         f"ca_file={xapi_sim.ca_file}"])
    state = tmp_path / "state.db"
    assert_example_round_trip(path, inputs, state)
    with Engine(load_stack(path, inputs), SQLiteStore(state)) as engine:
        plan = engine.plan(PlanOptions(destroy=True))
        result = engine.apply(plan, CollectingProgress(), parallelism=8)
    assert result.ok, failures(result)
    left = [vm["name_label"] for vm in xapi_sim.objects("VM").values()
            if "provisioner:owner" in vm["other_config"]]
    assert left == []
