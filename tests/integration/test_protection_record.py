"""prevent_destroy set (or cleared) on an object that has nothing else to change is
recorded by the no-change apply: once its declaration is removed, the record is what
protects it. On libvirt's test driver, through the engine as the CLI drives it."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import libvirt
import pytest

from provisioner.apply.progress import CollectingProgress
from provisioner.engine import Engine
from provisioner.errors import PlanError
from provisioner.plan.model import Action
from provisioner.stack.loader import load_stack

pytestmark = pytest.mark.integration

HEAD = ('apiVersion: provisioner/v1\nstack: protect\nproviders:\n'
        '  kvm: {type: libvirt, uri: "test:///default"}\n')
WEB = "guests:\n  web: {provider: kvm, memory: 64MiB%s}\n"
PROTECTED = WEB % ", lifecycle: {prevent_destroy: true}"
UNPROTECTED = WEB % ""


@pytest.fixture
def held() -> Iterator[Any]:
    """test:///default keeps its objects only while a connection is open."""
    connection = libvirt.open("test:///default")
    yield connection
    connection.close()


def apply(directory: Path, body: str) -> dict[str, str]:
    """Plan and apply ``body`` as `provisioner apply` does; the planned actions."""
    (directory / "stack.yaml").write_text(HEAD + body)
    with Engine(load_stack(directory / "stack.yaml")) as engine:
        plan = engine.plan()
        result = engine.apply(plan, CollectingProgress()) if plan.has_changes else None
        engine.conclude(plan, result)
        return {str(change.address): change.action.value for change in plan.changes}


def test_protection_added_later_survives_the_declarations_removal(tmp_path: Path,
                                                                   held: Any) -> None:
    assert apply(tmp_path, UNPROTECTED) == {"guests.web": Action.CREATE.value}
    assert apply(tmp_path, PROTECTED) == {"guests.web": Action.NOOP.value}
    with pytest.raises(PlanError, match="prevent_destroy forbids deleting it"):
        apply(tmp_path, "guests: {}\n")
    assert held.lookupByName("web") is not None


def test_protection_cleared_later_lets_the_removal_delete(tmp_path: Path, held: Any) -> None:
    apply(tmp_path, PROTECTED)
    assert apply(tmp_path, UNPROTECTED) == {"guests.web": Action.NOOP.value}
    assert apply(tmp_path, "guests: {}\n") == {"guests.web": Action.DELETE.value}
