"""prevent_destroy kept in the guest's marker (its description) besides the state: a
plan after the state is lost still refuses to delete the protected guest."""

from __future__ import annotations

import pytest
from pve_harness import Lab, TestPve, failures, guest

from provisioner.errors import PlanError

GUEST = """
guests:
  keep:
    provider: pve
    clone: debian-12
    node: pve1
    memory: 512MiB
    lifecycle: { prevent_destroy: true }
"""


@pytest.mark.simulator_only("reads the guest's description in the fake")
def test_a_lost_state_still_refuses_to_delete_a_protected_guest(lab: Lab, pve: TestPve) -> None:
    _, result = lab.apply(GUEST)
    assert result.ok, failures(result)
    assert '"prevent_destroy":true' in guest(pve, "keep").config["description"]
    (lab.root / "state.db").unlink()
    with pytest.raises(PlanError, match=r"guests\.keep: lifecycle\.prevent_destroy forbids"):
        lab.plan("guests: {}\n")
    # cleared in the stack, the marker follows (in place), and the guest may go
    plan, result = lab.apply(GUEST.replace("    lifecycle: { prevent_destroy: true }\n", ""))
    assert result.ok, failures(result)
    assert [(f.path, f.effect.value) for c in plan.changes for f in c.fields] == [
        ("lifecycle.prevent_destroy", "in place")]
    assert "prevent_destroy" not in guest(pve, "keep").config["description"]
