"""Fixtures of the Parallels integration tests: a fake Mac per test, or the real one
PROVISIONER_TEST_PARALLELS names (docs/testing.md).

``fake`` is the fake prlctl (tests/support/parallels) with its state; ``lab`` a stack
on it (for the tests that look into the fake: ``simulator_only``); ``host`` a stack
on the Mac the run targets, destroyed afterwards.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from prl_lab import Lab, fake_block, real_block
from support import real_hosts
from support.parallels.install import FakeParallels


@pytest.fixture
def fake(tmp_path: Path) -> FakeParallels:
    return FakeParallels(tmp_path / "mac")


@pytest.fixture
def lab(tmp_path: Path, fake: FakeParallels) -> Lab:
    return Lab(tmp_path / "lab", fake_block(fake.program))


@pytest.fixture
def host(tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[Lab]:
    target = real_hosts.parallels()
    if target is None:
        fake = request.getfixturevalue("fake")
        lab = Lab(tmp_path / "lab", fake_block(fake.program))
    else:
        lab = Lab(tmp_path / "lab", real_block(target), name=real_hosts.stack_name("lab"))
    yield lab
    if (lab.directory / "stack.yaml").exists():
        lab.write({})
        result = lab.apply()
        assert result.returncode == 0, result.stdout + result.stderr
