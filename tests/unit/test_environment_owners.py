"""Two environments of one stack on one host never take each other's objects for their
own, on libvirt's in-process test driver (one shared connection: one host).

``prod`` applies a guest and its disk; then ``dev`` and the stack without environment
read the same host: prod's objects are foreign to them (``stack lab--prod``), never
theirs: their plans neither delete nor take over prod's, and creating their own
``app`` beside prod's is refused at plan time, naming the owner (objects are named by
the stack's names: environments on one host need names of their own).
"""

from __future__ import annotations

import textwrap
from collections.abc import Iterator
from pathlib import Path

import libvirt
import pytest
from support.libvirt_node import node_uri, write_stack

from provisioner.apply.progress import CollectingProgress
from provisioner.core.address import Kind
from provisioner.engine import Engine
from provisioner.errors import PlanError
from provisioner.plan.model import Action
from provisioner.stack.loader import load_stack
from provisioner.state.factory import open_store

STACK = """\
    apiVersion: provisioner/v1
    stack: lab
    providers:
      kvm: {{ type: libvirt, uri: "{uri}", pool: default }}
    volumes:
      data: {{ provider: kvm, pool: default, size: 1GiB }}
    guests:
      app:
        provider: kvm
        cpus: 1
        memory: 128MiB
        disks: [ {{ size: 1GiB }}, {{ volume: data }} ]
    """


@pytest.fixture
def conn(tmp_path: Path) -> Iterator[libvirt.virConnect]:
    conn = libvirt.open(node_uri(tmp_path))
    yield conn
    conn.close()


def _engine(directory: Path, conn: libvirt.virConnect, environment: str | None) -> Engine:
    write_stack(directory, textwrap.dedent(STACK.format(uri=conn.getURI())))
    (directory / "env").mkdir(exist_ok=True)
    for name in ("dev", "prod"):
        (directory / "env" / f"{name}.yaml").write_text("guests: {app: {cpus: 1}}\n")
    stack = load_stack(directory, cwd=directory, environment=environment)
    engine = Engine(stack, open_store(stack))
    engine.providers()["kvm"].client.share(conn)  # type: ignore[attr-defined]
    return engine


def test_each_environment_owns_only_its_objects(tmp_path: Path,
                                                conn: libvirt.virConnect) -> None:
    with _engine(tmp_path, conn, "prod") as prod:
        result = prod.apply(prod.plan(), CollectingProgress())
        assert result.ok, [r.message for r in result.results]
        owned = prod.refresh()["kvm"]
        assert {o.address.name for o in owned.managed} == {"app", "data"}
    assert (tmp_path / ".provisioner" / "lab--prod.db").is_file()
    for other in ("dev", None):
        with _engine(tmp_path, conn, other) as engine:
            inventory = engine.refresh()["kvm"]
            assert list(inventory.managed) == []
            assert inventory.foreign[Kind.GUEST]["app"] == "stack lab--prod"
            with pytest.raises(PlanError) as refused:
                engine.plan()
            assert "is not this stack's (stack lab--prod)" in str(refused.value)
            assert engine.store.applied() == {}, "its own state: prod's records are not here"
    with _engine(tmp_path, conn, "prod") as prod:
        again = prod.plan()
        assert {c.action for c in again.changes} == {Action.NOOP}, "prod still owns its own"
