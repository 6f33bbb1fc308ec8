"""Fixtures of the Proxmox integration tests: a fresh fake cluster per test.

``pve`` is a started ``TestPve`` (fakepve with a working QEMU resize) with two
nodes, a ``debian-12`` template on each, an OS template and a snippet; the
``fakepve(time_scale=...)`` marker of fakepve's plugin sets how fast its tasks
run (default 0: at once). ``lab`` is a stack directory on it.

With ``PROVISIONER_TEST_PVE`` set (tests/support/real_hosts.py, docs/testing.md)
``pve`` is a ``RealPve`` (pve_real.py) on that cluster instead, ``pve_loop``
skips, ``lab``'s stack is named for the run and its names are the cluster's
(``PROVISIONER_TEST_PVE_NODES``/``_TEMPLATE``/``_STORAGE``/``_BRIDGE``); after each
test the lab's stack is destroyed, and a test fails if the cluster still holds
anything of it (then removed with the API).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

pytest.importorskip("proxmoxer", reason="pip install 'provisioner[proxmox]'")
certs = pytest.importorskip("fakepve.certs", reason="pip install 'fakepve[pytest,crypto]'")

from pve_harness import TOKEN, TOKEN_ENV, Lab, Served, TestPve, lab_cluster  # noqa: E402
from pve_real import RealPve, names  # noqa: E402
from support import real_hosts  # noqa: E402

REAL = real_hosts.pve()


def pytest_configure(config: pytest.Config) -> None:
    """The marker fakepve's plugin registers, for runs without the plugin (-p no:fakepve)."""
    config.addinivalue_line("markers", "fakepve(time_scale=): how fast the fake's tasks run")


@pytest.fixture(scope="session")
def pve_pki(tmp_path_factory: pytest.TempPathFactory) -> tuple[str, str]:
    if REAL is not None:  # the real cluster's CA (or the system's trust store)
        return REAL.ca_file or "", ""
    certfile, keyfile, _ = certs.make_cert(str(tmp_path_factory.mktemp("pve-pki")),
                                           hosts=("127.0.0.1",))
    return str(certfile), str(keyfile)


@pytest.fixture
def pve_loop(request: pytest.FixtureRequest, pve_pki: tuple[str, str],
             monkeypatch: pytest.MonkeyPatch) -> Iterator[Served]:
    """The served fake; ``pve_loop.run(coroutine)`` runs one of its scenarios."""
    if REAL is not None:
        pytest.skip(f"needs fakepve served in-process ({real_hosts.PVE} is set)")
    marker = request.node.get_closest_marker("fakepve")
    fake = TestPve(host="127.0.0.1", port=0)
    fake.time_scale = float(marker.kwargs.get("time_scale", 0)) if marker else 0.0
    lab_cluster(fake)
    monkeypatch.setenv(TOKEN_ENV, TOKEN)
    served = Served(fake, *pve_pki)
    try:
        yield served
    finally:
        served.stop()


@pytest.fixture
def pve(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> TestPve | RealPve:
    if REAL is not None:
        monkeypatch.setenv(TOKEN_ENV, REAL.token_secret)
        return RealPve(REAL)
    return request.getfixturevalue("pve_loop").pve  # type: ignore[no-any-return]


@pytest.fixture
def lab(tmp_path: Path, pve: TestPve | RealPve, pve_pki: tuple[str, str]) -> Iterator[Lab]:
    if not isinstance(pve, RealPve):
        yield Lab(tmp_path / "lab", pve, pve_pki[0])
        return
    assert REAL is not None
    nodes = REAL.nodes or tuple(pve.nodes)
    target = real_hosts.PveTarget(**{**REAL.__dict__, "nodes": nodes})
    lab = Lab(tmp_path / "lab", pve, pve_pki[0], name=real_hosts.stack_name("lab"),
              names=names(target), nodes=len(nodes))
    if pve.owned(lab.name):  # an interrupted earlier test of this run
        pve.sweep(lab.name)
    yield lab
    lab.clean_up()
