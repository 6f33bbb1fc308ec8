"""pytest fixture: ``from support.xapi.fixture import xapi_sim  # noqa: F401``."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from .simulator import XapiSimulator


@pytest.fixture
def xapi_sim() -> Iterator[XapiSimulator]:
    """A started simulator with seed_lab() done; users root/secret (pool-admin),
    vmadmin/secret (vm-admin) and auditor/secret (read-only)."""
    sim = XapiSimulator(users={"root": ("secret", "pool-admin"),
                               "vmadmin": ("secret", "vm-admin"),
                               "auditor": ("secret", "read-only")})
    sim.start()
    sim.seed_lab()
    try:
        yield sim
    finally:
        sim.stop()
