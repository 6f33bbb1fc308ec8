"""Test layers by directory: every test gets the marker of the folder it lives in.

tests/unit, tests/planner_cases → unit; tests/contract → contract;
tests/integration, tests/cli → integration; tests/e2e → e2e.
"""

from __future__ import annotations

from pathlib import Path

import pytest

_LAYERS = {
    "unit": "unit",
    "planner_cases": "unit",
    "contract": "contract",
    "integration": "integration",
    "cli": "integration",
    "e2e": "e2e",
}
_ROOT = Path(__file__).parent


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        relative = Path(str(item.path)).resolve().relative_to(_ROOT.resolve())
        layer = _LAYERS.get(relative.parts[0]) if len(relative.parts) > 1 else None
        if layer is None:
            raise pytest.UsageError(f"{relative}: tests live in one of {sorted(_LAYERS)}")
        item.add_marker(getattr(pytest.mark, layer))


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
