"""Fixtures of the VirtualBox integration tests: a fake VirtualBox host per test, or the
real one PROVISIONER_TEST_VBOX names (docs/testing.md).

``fake`` is the fake VBoxManage (tests/support/vbox) with its state; ``lab`` a stack
on it (for the tests that look into the fake: ``simulator_only``); ``host`` a stack
on the host the run targets, destroyed afterwards.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from support import real_hosts
from support.vbox import FakeVBox
from vbox_lab import Lab, fake_block, real_block


@pytest.fixture
def fake(tmp_path: Path) -> FakeVBox:
    return FakeVBox(tmp_path / "vbox")


@pytest.fixture
def lab(tmp_path: Path, fake: FakeVBox) -> Lab:
    return Lab(tmp_path / "lab", fake_block(fake.program))


@pytest.fixture
def host(tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[Lab]:
    target = real_hosts.vbox()
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
