"""Every Proxmox example stack under stacks/: plan, apply, and a plan right after
shows no changes (no perpetual diff), on a fake cluster shaped like the lab."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from pve_harness import TestPve
from support.plans import assert_example_round_trip

from provisioner.stack.variables import VariableInputs

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


@pytest.mark.simulator_only(
    "adds the example's API token to the fake cluster, shaped like the example's lab (its node, "
    "template and storage names)")
@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.parent.name)
def test_example_has_no_perpetual_diff(path: Path, pve: TestPve, pve_pki: tuple[str, str],
                                       tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    pve.apitokens[EXAMPLE_TOKEN] = "example-secret"
    monkeypatch.setenv("PVE_TOKEN_SECRET", "example-secret")
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", pve_pki[0])  # the fake's certificate, trusted
    inputs = VariableInputs(assignments=[f"pve_endpoint={pve.url}"])
    assert_example_round_trip(path, inputs, tmp_path / "state.db")
