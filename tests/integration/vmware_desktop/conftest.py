"""Fixtures of the VMware desktop integration tests: a fake VMware host per test, or the
real one PROVISIONER_TEST_VMWARE_DESKTOP names (docs/testing.md).

``fake`` is the fake vmrun / vmware-vdiskmanager (tests/support/vmware_desktop) with
its state; ``lab`` a stack on it (for the tests that look into the fake:
``simulator_only``); ``host`` a stack on the host the run targets, destroyed afterwards.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from support import real_hosts
from support.vmware_desktop import FakeVmware
from vmware_lab import Lab


@pytest.fixture
def fake(tmp_path: Path) -> FakeVmware:
    return FakeVmware(tmp_path / "vmware")


@pytest.fixture
def lab(tmp_path: Path, fake: FakeVmware) -> Lab:
    return Lab(tmp_path / "lab", fake.block())


@pytest.fixture
def host(tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[Lab]:
    target = real_hosts.vmware_desktop()
    if target is None:
        lab = Lab(tmp_path / "lab", request.getfixturevalue("fake").block())
    else:
        lab = Lab(tmp_path / "lab", target.block(), name=real_hosts.stack_name("lab"))
    yield lab
    lab.put()
    lab.applied()
