"""Fixtures of the Hyper-V integration tests: a fake Hyper-V host per test, or the real
one PROVISIONER_TEST_HYPERV names (docs/testing.md).

``fake`` is the fake PowerShell (tests/support/hyperv) with its state; ``lab`` a stack
on it (for the tests that look into the fake: ``simulator_only``); ``host`` a stack on
the host the run targets, destroyed afterwards.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from hyperv_lab import Lab
from support import real_hosts
from support.hyperv.install import FakeHyperV


@pytest.fixture
def fake(tmp_path: Path) -> FakeHyperV:
    return FakeHyperV(tmp_path / "hyperv")


@pytest.fixture
def lab(tmp_path: Path, fake: FakeHyperV) -> Lab:
    return Lab(tmp_path / "lab", "lab", program=fake.program)


@pytest.fixture
def host(tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[Lab]:
    target = real_hosts.hyperv()
    if target is None:
        lab = Lab(tmp_path / "lab", "lab", program=request.getfixturevalue("fake").program)
    else:
        lab = Lab(tmp_path / "lab", real_hosts.stack_name("lab"), target=target)
    yield lab
    if (lab.root / "stack.yaml").exists():
        _plan, result = lab.apply("")
        assert result.ok, result
