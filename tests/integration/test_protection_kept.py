"""prevent_destroy is kept in the state's record and, for libvirt guests, in their
ownership tag: set or cleared without another change it is recorded (and the tag is
rewritten in place, as the plan says); once the declaration is removed the record
protects the guest, and the tag still does when the state is lost. On libvirt's test
driver, through the engine as the CLI drives it."""

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
    started = held.lookupByName("web").ID()
    assert apply(tmp_path, PROTECTED) == {"guests.web": Action.UPDATE.value}  # the tag
    assert held.lookupByName("web").ID() == started, "the tag's rewrite restarted the guest"
    with pytest.raises(PlanError, match="prevent_destroy forbids deleting it"):
        apply(tmp_path, "guests: {}\n")
    assert held.lookupByName("web") is not None


def test_protection_cleared_later_lets_the_removal_delete(tmp_path: Path, held: Any) -> None:
    apply(tmp_path, PROTECTED)
    assert apply(tmp_path, UNPROTECTED) == {"guests.web": Action.UPDATE.value}
    assert apply(tmp_path, "guests: {}\n") == {"guests.web": Action.DELETE.value}


def test_the_tag_protects_a_guest_whose_state_is_lost(tmp_path: Path, held: Any) -> None:
    apply(tmp_path, PROTECTED + "  db: {provider: kvm, memory: 64MiB}\n")
    assert 'prevent_destroy="true"' in held.lookupByName("web").XMLDesc(0)
    assert "prevent_destroy" not in held.lookupByName("db").XMLDesc(0)
    for state in (tmp_path / ".provisioner").iterdir():
        state.unlink()  # a new runner, a deleted file: no record of either guest
    with pytest.raises(PlanError, match=r"guests\.web: lifecycle\.prevent_destroy forbids") as \
            refused:
        apply(tmp_path, "guests: {}\n")
    assert "guests.db" not in str(refused.value), "db was never protected"
    assert held.lookupByName("web") is not None
