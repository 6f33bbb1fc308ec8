"""Fixtures of the XenServer integration tests: a fresh XAPI simulator per test.

``xapi_sim`` (tests/support/xapi/fixture.py) is a started simulator with the
standard lab seeded (hosts xcp1 and xcp2, SRs "Local storage xcp1" / "xcp2"
(LVM) and "NFS shared" (the default, online resize), the network "Pool-wide
network associated with eth0" on xenbr0, the templates "Debian Bookworm 12"
and "debian-12-cloud" (one 10 GiB disk)); users root (pool-admin), vmadmin
(vm-admin) and auditor (read-only), password "secret". ``lab`` is a stack
directory with its own state on it.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from support.xapi import XapiSimulator
from support.xapi.fixture import xapi_sim  # noqa: F401  (the fixture)
from xapi_lab import Lab


@pytest.fixture
def lab(tmp_path: Path, xapi_sim: XapiSimulator,  # noqa: F811
        monkeypatch: pytest.MonkeyPatch) -> Lab:
    monkeypatch.setenv("XAPI_PASSWORD", "secret")
    return Lab(tmp_path / "lab", xapi_sim)
