"""Test layers by directory: every test gets the marker of the folder it lives in.

tests/unit, tests/planner_cases → unit; tests/contract → contract;
tests/integration, tests/cli → integration; tests/e2e → e2e; tests/hostile (hostile
and careless input, on libvirt's in-process test driver) → unit.

Real targets (tests/support/real_hosts.py, docs/testing.md): the variables are
read once when the session starts (a bad one stops it there); a test marked
``simulator_only("why")`` is skipped with that reason when a real target is
selected for its provider (``provider=`` of the marker, else the test's folder:
integration/proxmox, integration/vsphere, integration/xenserver, and the libvirt
tests: a file named ``*libvirt*`` or under tests/e2e).
"""

from __future__ import annotations

from pathlib import Path

import pytest
from support import real_hosts

_LAYERS = {
    "unit": "unit",
    "planner_cases": "unit",
    "contract": "contract",
    "integration": "integration",
    "cli": "integration",
    "e2e": "e2e",
    "hostile": "unit",
}
_ROOT = Path(__file__).parent


def pytest_configure(config: pytest.Config) -> None:
    config.stash[_TARGETS] = real_hosts.targets()  # a bad variable stops the session here


def pytest_report_header(config: pytest.Config) -> list[str]:
    return [f"real target for {provider}: {real_hosts.describe(target)} (stacks *-t"
            f"{real_hosts.run_id()})" for provider, target in config.stash[_TARGETS].items()]


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    selected = config.stash[_TARGETS]
    for item in items:
        relative = Path(str(item.path)).resolve().relative_to(_ROOT.resolve())
        layer = _LAYERS.get(relative.parts[0]) if len(relative.parts) > 1 else None
        if layer is None:
            raise pytest.UsageError(f"{relative}: tests live in one of {sorted(_LAYERS)}")
        item.add_marker(getattr(pytest.mark, layer))
        marker = item.get_closest_marker("simulator_only")
        if marker is None:
            continue
        provider = marker.kwargs.get("provider") or provider_of(relative)
        if provider not in real_hosts.SELECTORS:
            raise pytest.UsageError(f"{item.nodeid}: simulator_only needs provider= "
                                    f"(one of {sorted(real_hosts.SELECTORS)}) here")
        if not marker.args or not str(marker.args[0]).strip():
            raise pytest.UsageError(f"{item.nodeid}: simulator_only needs its reason")
        if provider in selected:
            item.add_marker(pytest.mark.skip(
                reason=f"simulator only ({real_hosts.SELECTORS[provider]} is set): "
                       f"{marker.args[0]}"))


def provider_of(relative: Path) -> str | None:
    """The provider whose real target a test under tests/ can run on, by its path."""
    parts = relative.parts
    if parts[:1] == ("integration",) and len(parts) > 2 and parts[1] in real_hosts.SELECTORS:
        return parts[1]
    if "libvirt" in relative.name or parts[:1] == ("e2e",):
        return "libvirt"
    return None


_TARGETS = pytest.StashKey[dict[str, "real_hosts.Target"]]()


@pytest.fixture(autouse=True)
def _fast_tests_reach_no_daemon(request: pytest.FixtureRequest,
                                monkeypatch: pytest.MonkeyPatch) -> None:
    """Unit and contract tests run before CI starts any daemon: a libvirt URI other
    than the in-process ``test:`` driver (or a host under ``.invalid``, which never
    answers) fails here, on every machine, rather than passing wherever a libvirtd
    happens to run."""
    if request.node.get_closest_marker("integration") or request.node.get_closest_marker("e2e"):
        return
    try:
        import libvirt
    except ImportError:
        return
    for name in ("open", "openAuth", "openReadOnly"):
        real = getattr(libvirt, name)

        def guarded(uri: str | None = None, *args: object, _real: object = real) -> object:
            if not (uri or "").startswith("test:") and ".invalid" not in (uri or ""):
                raise AssertionError(f"a fast test opened {uri!r}: use test:///default")
            return _real(uri, *args)  # type: ignore[operator]

        monkeypatch.setattr(libvirt, name, guarded)
