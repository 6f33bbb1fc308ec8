"""Every Proxmox example stack under stacks/: plan, apply, and a plan right after
shows no changes (no perpetual diff), on a fake cluster shaped like the lab."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from pve_harness import Recorder, TestPve, failures

from provisioner.engine import Engine
from provisioner.stack.loader import load_stack
from provisioner.stack.variables import VariableInputs
from provisioner.state.local import SQLiteStore

ROOT = Path(__file__).resolve().parents[3]
EXAMPLE_TOKEN = "provisioner@pve!ci"


def _proxmox_examples() -> list[Path]:
    found = []
    for path in sorted((ROOT / "stacks").rglob("stack.yaml")):
        document = yaml.safe_load(path.read_text(encoding="utf-8"))
        types = {block.get("type") for block in (document.get("providers") or {}).values()}
        if "proxmox" in types:
            found.append(path)
    return found


EXAMPLES = _proxmox_examples()


def test_there_is_a_proxmox_example() -> None:
    assert EXAMPLES


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.parent.name)
def test_example_has_no_perpetual_diff(path: Path, pve: TestPve, pve_pki: tuple[str, str],
                                       tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    pve.apitokens[EXAMPLE_TOKEN] = "example-secret"
    monkeypatch.setenv("PVE_TOKEN_SECRET", "example-secret")
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", pve_pki[0])  # the fake's certificate, trusted
    inputs = VariableInputs(assignments=[f"pve_endpoint={pve.url}"])

    def engine() -> Engine:
        return Engine(load_stack(path, inputs), SQLiteStore(tmp_path / "state.db"))

    with engine() as first:
        plan = first.plan()
        assert plan.has_changes
        result = first.apply(plan, Recorder(), parallelism=8)
        assert result.ok, failures(result)
    with engine() as second:
        again = second.plan()
        assert not again.has_changes, [(str(c.address), c.fields) for c in again.changes
                                       if c.action.is_change]
        outputs = second.outputs().values
        assert all(value not in (None, [], [None]) for value in outputs.values()), outputs
