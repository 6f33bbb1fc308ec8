"""Fixtures of the XenServer integration tests: a fresh XAPI simulator per test.

``xapi_sim`` (tests/support/xapi/fixture.py) is a started simulator with the
standard lab seeded (hosts xcp1 and xcp2, SRs "Local storage xcp1" / "xcp2"
(LVM) and "NFS shared" (the default, online resize), the network "Pool-wide
network associated with eth0" on xenbr0, the templates "Debian Bookworm 12"
and "debian-12-cloud" (one 10 GiB disk)); users root (pool-admin), vmadmin
(vm-admin) and auditor (read-only), password "secret". ``lab`` is a stack
directory with its own state on it; ``pool`` is one on the pool the run targets
(the simulator, or a real pool: docs/testing.md), cleaned up afterwards.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from support import real_hosts
from support.real_hosts import XapiTarget
from support.xapi import XapiSimulator
from support.xapi.fixture import xapi_sim  # noqa: F401  (the fixture)
from xapi_lab import NET, Lab, block, real_block


@pytest.fixture
def lab(tmp_path: Path, xapi_sim: XapiSimulator,  # noqa: F811
        monkeypatch: pytest.MonkeyPatch) -> Lab:
    """A stack on the simulator (for tests that look into it: simulator_only)."""
    monkeypatch.setenv("XAPI_PASSWORD", "secret")
    return Lab(tmp_path / "lab", block(xapi_sim), sim=xapi_sim)


@pytest.fixture
def pool(tmp_path: Path, request: pytest.FixtureRequest,
         monkeypatch: pytest.MonkeyPatch) -> Iterator[Lab]:
    """A stack on the pool the run targets: the simulator, or the real pool named by
    PROVISIONER_TEST_XAPI (a stack named for the run, the simulator's names replaced
    by the variables'). Afterwards whatever the stack left is destroyed, and the test
    fails if anything remains."""
    target = real_hosts.xapi()
    if target is None:
        sim = request.getfixturevalue("xapi_sim")
        monkeypatch.setenv("XAPI_PASSWORD", "secret")
        lab = Lab(tmp_path / "lab", block(sim), sim=sim)
    else:
        monkeypatch.setenv("XAPI_PASSWORD", target.password)
        lab = Lab(tmp_path / "lab", real_block(target), name=real_hosts.stack_name("lab"),
                  names=real_names(target))
    yield lab
    if lab.last_body:
        lab.destroy(lab.last_body)
        assert lab.left() == [], "the test left these on the pool"


def real_names(target: XapiTarget) -> dict[str, str]:
    """The simulator's names the tests use → the real pool's (from the variables)."""
    names = {}
    if target.template:
        names["debian-12-cloud"] = target.template
    if target.network:
        names[NET] = target.network
    if target.sr:
        names["NFS shared"] = target.sr
        names["Local storage xcp1"] = target.sr
    return names
