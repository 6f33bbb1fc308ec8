"""Fixtures of the contract suite: every test runs once per target in TARGETS.

A test asks for ``target`` (what the provider type declares), ``hypervisor``
(a private, isolated hypervisor for this test), ``provider`` (a provider
instance for the suite's stack on it) and ``samples`` (one Resource per kind).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from contract.target_hyperv import HyperVTarget
from contract.target_libvirt import LibvirtTarget
from contract.target_parallels import ParallelsTarget
from contract.target_proxmox import ProxmoxTarget
from contract.target_qemu import QemuTarget
from contract.target_virtualbox import VirtualBoxTarget
from contract.target_vmware_desktop import VmwareDesktopTarget
from contract.target_vsphere import VSPHERE_TARGETS
from contract.target_xenserver import XenServerTarget
from contract.targets import ContractTarget, Hypervisor
from provisioner.core.address import Kind
from provisioner.core.resources import Resource
from provisioner.providers.base import Provider

TARGETS: list[ContractTarget] = [LibvirtTarget(), ProxmoxTarget()]
TARGETS += VSPHERE_TARGETS
TARGETS.append(QemuTarget())
TARGETS.append(XenServerTarget())
TARGETS.append(VirtualBoxTarget())
TARGETS.append(HyperVTarget())
TARGETS.append(ParallelsTarget())
TARGETS.append(VmwareDesktopTarget())


@pytest.fixture(params=TARGETS, ids=lambda target: target.name)
def target(request: pytest.FixtureRequest) -> ContractTarget:
    chosen: ContractTarget = request.param
    reason = chosen.missing()
    if reason is not None:
        pytest.skip(reason)
    return chosen


@pytest.fixture
def hypervisor(
    target: ContractTarget, request: pytest.FixtureRequest, tmp_path: Path
) -> Iterator[Hypervisor]:
    opened = target.open(request, tmp_path)
    yield opened
    opened.close()


@pytest.fixture
def provider(hypervisor: Hypervisor) -> Provider:
    return hypervisor.provider()


@pytest.fixture
def samples(hypervisor: Hypervisor) -> dict[Kind, Resource]:
    return hypervisor.samples()


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """A target's known gaps run as strict xfails: fixing one makes the suite say so.
    A gap names a test function, or one case of it (``test_x[proxmox-case]``)."""
    for item in items:
        callspec = getattr(item, "callspec", None)
        chosen = callspec.params.get("target") if callspec is not None else None
        if isinstance(chosen, ContractTarget):
            gap = chosen.known_gaps.get(item.name) or chosen.known_gaps.get(
                getattr(item, "originalname", item.name))
            if gap is not None:
                item.add_marker(pytest.mark.xfail(reason=gap.reason, raises=gap.raises,
                                                  strict=True))
