"""Fixtures of the Proxmox integration tests: a fresh fake cluster per test.

``pve`` is a started ``TestPve`` (fakepve with a working QEMU resize) with two
nodes, a ``debian-12`` template on each, an OS template and a snippet; the
``fakepve(time_scale=...)`` marker of fakepve's plugin sets how fast its tasks
run (default 0: at once). ``lab`` is a stack directory on it.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

pytest.importorskip("proxmoxer", reason="pip install 'provisioner[proxmox]'")
certs = pytest.importorskip("fakepve.certs", reason="pip install 'fakepve[pytest,crypto]'")

from pve_harness import TOKEN, TOKEN_ENV, Lab, Served, TestPve, lab_cluster  # noqa: E402


def pytest_configure(config: pytest.Config) -> None:
    """The marker fakepve's plugin registers, for runs without the plugin (-p no:fakepve)."""
    config.addinivalue_line("markers", "fakepve(time_scale=): how fast the fake's tasks run")


@pytest.fixture(scope="session")
def pve_pki(tmp_path_factory: pytest.TempPathFactory) -> tuple[str, str]:
    certfile, keyfile, _ = certs.make_cert(str(tmp_path_factory.mktemp("pve-pki")),
                                           hosts=("127.0.0.1",))
    return str(certfile), str(keyfile)


@pytest.fixture
def pve_loop(request: pytest.FixtureRequest, pve_pki: tuple[str, str],
             monkeypatch: pytest.MonkeyPatch) -> Iterator[Served]:
    """The served fake; ``pve_loop.run(coroutine)`` runs one of its scenarios."""
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
def pve(pve_loop: Served) -> TestPve:
    return pve_loop.pve


@pytest.fixture
def lab(tmp_path: Path, pve: TestPve, pve_pki: tuple[str, str]) -> Lab:
    return Lab(tmp_path / "lab", pve, pve_pki[0])
