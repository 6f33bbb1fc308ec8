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
