"""Digests a plan file, the state or a domain's metadata holds confirm no guessed secret.

Before, ``stack_digest`` of a saved plan was a plain sha256 of the stack files and
every variable (sensitive ones too), and cloud-init content was digested plainly
into plan JSON, state and domain metadata: a guess could be checked offline. Now
both are keyed under a per-state key (``core/digests.py``). Stored digests stay
comparable: a re-plan after apply is clean, and a digest stored before (unkeyed)
still compares with the content, so an upgrade replaces nothing.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import libvirt
import pytest
from support.hostile_cli import run, write
from support.stack_lab import StackLab

from provisioner.engine import Engine
from provisioner.plan.model import Action
from provisioner.render.json import render_plan_json
from provisioner.render.values import short_blob
from provisioner.state.local import SQLiteStore

USER_DATA = b"#cloud-config\npassword: hunter2\n"
PLAIN = hashlib.sha256(USER_DATA).hexdigest()
GUEST = """\
guests:
  web:
    provider: kvm
    memory: 128MiB
    disks: [ { size: 64MiB } ]
    cloud_init: { user_data: user-data.yaml, on_change: replace }
"""


class LibvirtLab(StackLab):
    block_name = "kvm"

    def block(self, **settings: Any) -> dict[str, Any]:
        return {"type": "libvirt", "uri": "test:///default", "pool": "default-pool"}


@pytest.fixture
def lab(tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[LibvirtLab]:
    # test:///default keeps its objects while a connection is open: hold one
    conn = libvirt.open("test:///default")
    (tmp_path / "user-data.yaml").write_bytes(USER_DATA)
    name = "dg-" + hashlib.sha256(request.node.nodeid.encode()).hexdigest()[:8]
    lab = LibvirtLab(tmp_path, name)
    yield lab
    with lab.engine(GUEST) as engine:
        from provisioner.apply.progress import CollectingProgress
        from provisioner.plan.planner import PlanOptions

        engine.apply(engine.plan(PlanOptions(destroy=True)), CollectingProgress())
    conn.close()


def _stored_text(lab: LibvirtLab) -> str:
    """Everything the state and the domain keep: applied records and the definition."""
    with sqlite3.connect(lab.root / "state.db") as db:
        records = json.dumps(db.execute("SELECT * FROM applied").fetchall())
    conn = libvirt.open("test:///default")
    try:
        domain = conn.lookupByName(f"{lab.name}-web")
    except libvirt.libvirtError:
        domain = next(d for d in conn.listAllDomains() if "web" in d.name()
                      and lab.name in d.XMLDesc(0))
    return records + domain.XMLDesc(0)


def test_cloud_init_digests_are_keyed_and_a_replan_is_clean(lab: LibvirtLab) -> None:
    plan, result = lab.apply(GUEST)
    assert result.ok, result
    assert PLAIN not in render_plan_json(plan)
    stored = _stored_text(lab)
    assert "hmac-sha256:" in stored and PLAIN not in stored
    assert not lab.plan(GUEST).has_changes


def test_a_changed_user_data_still_shows(lab: LibvirtLab) -> None:
    lab.apply(GUEST)
    (lab.root / "user-data.yaml").write_bytes(USER_DATA + b"packages: [vim]\n")
    [change] = lab.plan(GUEST).pending()
    assert change.action is Action.REPLACE
    [field] = change.fields
    assert field.path == "cloud_init.user_data"
    before, after = (short_blob(value) for value in (field.before, field.after))
    assert before != after and after.startswith("user-data.yaml (hmac-sha256:"), (before, after)


def test_a_digest_stored_before_digests_were_keyed_forces_no_replace(lab: LibvirtLab) -> None:
    # apply as the previous version did: the stack's plain digests, unkeyed
    with lab.engine(GUEST) as engine:
        engine.stack = lab.write(GUEST)
        from provisioner.apply.progress import CollectingProgress

        assert engine.apply(engine.plan(), CollectingProgress()).ok
    assert PLAIN in _stored_text(lab)
    assert not lab.plan(GUEST).has_changes


def test_the_key_is_made_once_and_kept_with_the_state(lab: LibvirtLab) -> None:
    first = SQLiteStore(lab.root / "state.db")
    key = first.digest_key()
    first.close()
    again = SQLiteStore(lab.root / "state.db")
    assert again.digest_key() == key and len(key) == 32
    again.close()
    assert (lab.root / "state.db").stat().st_mode & 0o077 == 0


def test_a_saved_plan_holds_no_plain_digest_of_the_variables(tmp_path: Path) -> None:
    write(tmp_path, """\
        variables:
          token: { sensitive: true }
        networks:
          lab: { provider: kvm, mode: isolated, cidr: 10.9.0.0/24 }
        """)
    result = run("plan", str(tmp_path), "--var", "token=hunter2", "-o", str(tmp_path / "p.json"))
    assert result.returncode == 0, result.stderr
    saved = json.loads((tmp_path / "p.json").read_text())
    guessed = hashlib.sha256()  # what a guesser with the repository would compute
    guessed.update(b"stack.yaml" + (tmp_path / "stack.yaml").read_bytes())
    guessed.update(json.dumps({"token": "hunter2"}, sort_keys=True).encode())
    assert saved["stack_digest"].startswith("hmac-sha256:")
    assert guessed.hexdigest() not in (tmp_path / "p.json").read_text()
    applied = run("apply", str(tmp_path / "p.json"), "--var", "token=hunter2", "--auto-approve")
    assert "changed since" not in applied.stderr
    other = run("apply", str(tmp_path / "p.json"), "--var", "token=guess", "--auto-approve")
    assert other.returncode == 1


def test_engine_digest_differs_per_state(tmp_path: Path) -> None:
    stack_dir = tmp_path / "s"
    stack_dir.mkdir()
    write(stack_dir, "networks:\n  lab: { provider: kvm, mode: isolated, cidr: 10.9.0.0/24 }\n")
    from provisioner.stack.loader import load_stack

    stack = load_stack(stack_dir / "stack.yaml")
    digests = []
    for state in ("a.db", "b.db", "a.db"):
        with Engine(stack, SQLiteStore(tmp_path / state)) as engine:
            digests.append(engine.stack_digest())
    assert digests[0] == digests[2] != digests[1]
