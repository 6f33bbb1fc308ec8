"""``provisioner import``: an existing untagged VM becomes a guest of the stack."""

from __future__ import annotations

import pytest
from support.vcsim import Simulator
from vsphere_lab import Lab, failures, field_changes

from provisioner.core.address import Address, Kind
from provisioner.errors import ProviderError

LEGACY = """
guests:
  legacy:
    provider: vc
    cpus: {cpus}
    memory: 512MiB
    power: stopped
    disks: [ {{ size: 2GiB }} ]
    networks: [ {{ host_network: VM Network }} ]
    options: {{ notes: "an old VM" }}
"""


@pytest.mark.simulator_only("makes the untagged VM legacy in the simulator, outside the provider")
def test_an_untagged_vm_is_adopted_then_managed(lab: Lab, vcsim: Simulator) -> None:
    vcsim.make_vm("legacy", annotation="an old VM")
    address = Address(Kind.GUEST, "legacy")
    with lab.engine(LEGACY.format(cpus=1)) as engine:
        provider = engine.providers()["vc"]
        live = provider.adopt(address, "legacy")
        assert live.address == address
        assert live.id == vcsim.vm("legacy")._moId
        with pytest.raises(ProviderError) as again:
            provider.adopt(address, "legacy")
    assert "already owned by this stack" in str(again.value)
    assert vcsim.vm("legacy").config.annotation.startswith("an old VM")  # notes kept

    plan = lab.plan(LEGACY.format(cpus=1))
    assert not plan.has_changes, [(c.action, c.fields, c.reason) for c in plan.changes]
    assert field_changes(lab.plan(LEGACY.format(cpus=2))) == {
        "guests.legacy": [("cpus", "in place")]}  # it is stopped: nothing to restart
    _, result = lab.apply(LEGACY.format(cpus=2))
    assert result.ok, failures(result)
    assert vcsim.vm("legacy").config.hardware.numCPU == 2


@pytest.mark.simulator_only(
    "names the simulator's template debian-12 in the adopt call and its message")
def test_a_template_or_a_missing_vm_is_not_adopted(lab: Lab, vcsim_vpx: Simulator) -> None:
    with lab.engine(LEGACY.format(cpus=1)) as engine:
        provider = engine.providers()["vc"]
        with pytest.raises(ProviderError) as template:
            provider.adopt(Address(Kind.GUEST, "legacy"), "debian-12")
        with pytest.raises(ProviderError) as missing:
            provider.adopt(Address(Kind.GUEST, "legacy"), "nothing-here")
    assert "'debian-12' is a template, not a VM" in str(template.value)
    assert "no VM named 'nothing-here' exists" in str(missing.value)
