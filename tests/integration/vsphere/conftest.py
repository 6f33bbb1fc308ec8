"""Fixtures of the vSphere integration tests: the simulators and a stack directory on one.

``vcsim`` runs a test once on the vCenter simulator and once on the ESXi one;
``vcsim_vpx`` and ``vcsim_esx`` pick one. Each is the session's simulator,
reset to its baseline after the test (see tests/support/vcsim.py). ``lab`` is
a stack directory with its own state on the simulator the test uses.

With ``PROVISIONER_TEST_VSPHERE`` set they are the real vCenter or ESXi host
instead (support/vsphere_real.py); ``lab``'s stack is then destroyed after the
test, before the leak check.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from support.vcsim import Simulator, vcsim, vcsim_esx, vcsim_vpx  # noqa: F401
from vsphere_lab import Lab


@pytest.fixture
def lab(tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[Lab]:
    """A lab on the simulator the test asked for (``vcsim``, ``vcsim_vpx`` or ``vcsim_esx``)."""
    for name in ("vcsim", "vcsim_vpx", "vcsim_esx"):
        if name in request.fixturenames:
            simulator: Simulator = request.getfixturevalue(name)
            lab = Lab(tmp_path / "lab", simulator)
            yield lab
            if simulator.real:
                lab.clean_up()
            return
    raise pytest.UsageError("a test using `lab` asks for vcsim, vcsim_vpx or vcsim_esx too")
