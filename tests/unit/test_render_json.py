"""Plan JSON: the documented, versioned document; blobs and secrets never included."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from pydantic import SecretStr
from support.plans import plan_of

from provisioner.core.address import Address, Kind
from provisioner.core.resources import Blob, Effect, LiveObject, Resource
from provisioner.plan.model import (
    Action,
    Change,
    FieldDiff,
    Operation,
    Plan,
    ReplaceOrder,
    Step,
)
from provisioner.render.json import plan_document, render_plan_json
from provisioner.units import Bytes

pytestmark = pytest.mark.unit

GIB = 1 << 30
USER_DATA = Blob.of("web.cloud.yaml", b"#cloud-config\npassword: hunter2\n")

TOP_KEYS = [
    "format_version",
    "stack",
    "destroy",
    "summary",
    "changes",
    "steps",
    "forget",
    "warnings",
    "snapshots",
    "moved",
]
CHANGE_KEYS = [
    "address",
    "kind",
    "name",
    "provider",
    "action",
    "reason",
    "placement",
    "replace_order",
    "requires_restart",
    "fields",
    "before",
    "after",
]


def _sample_plan() -> Plan:
    web_address = Address(Kind.GUEST, "web-0")
    spec: dict[str, Any] = {
        "memory": Bytes(2 * GIB),
        "cloud_init": {"user_data": USER_DATA, "password": SecretStr("s3cret")},
    }
    live = LiveObject(web_address, "kvm", "web-0", "uuid-1", {"memory": GIB, "image": "debian-11"})
    web = Change(
        web_address,
        "kvm",
        Action.REPLACE,
        "image forces replacement",
        (
            FieldDiff("image", "debian-11", "debian-12", Effect.REPLACE),
            FieldDiff("cloud_init.password", SecretStr("old"), SecretStr("s3cret"), Effect.RESTART),
        ),
        replace_order=ReplaceOrder.CREATE_FIRST,
        desired=Resource(web_address, "kvm", spec),
        live=live,
    )
    lab = Change(Address(Kind.NETWORK, "lab"), "kvm", Action.NOOP, "up to date")
    return plan_of(
        lab, web,
        edges=((Step(Operation.CREATE, web).key, Step(Operation.DELETE, web).key),),
        forget=(Address(Kind.GUEST, "gone"),),
        warnings=("be careful",),
    )


def test_round_trips_with_documented_keys() -> None:
    text = render_plan_json(_sample_plan())
    assert text.endswith("}\n")
    document = json.loads(text)
    assert list(document) == TOP_KEYS
    assert document["format_version"] == "1"
    assert document["stack"] == "s"
    assert document["destroy"] is False
    assert document["summary"] == {"add": 1, "change": 0, "destroy": 1}
    assert [list(change) for change in document["changes"]] == [CHANGE_KEYS, CHANGE_KEYS]
    assert document["forget"] == ["guests.gone"]
    assert document["warnings"] == ["be careful"]
    assert document == plan_document(_sample_plan())


def test_all_changes_including_no_op() -> None:
    lab, web = plan_document(_sample_plan())["changes"]
    assert lab == {
        "address": "networks.lab",
        "kind": "networks",
        "name": "lab",
        "provider": "kvm",
        "action": "no-op",
        "reason": "up to date",
        "placement": None,
        "replace_order": None,
        "requires_restart": False,
        "fields": [],
        "before": None,
        "after": None,
    }
    assert web["action"] == "replace"
    assert web["replace_order"] == "create_first"
    assert web["fields"][0] == {
        "path": "image",
        "before": "debian-11",
        "after": "debian-12",
        "effect": "forces replacement",
        "added": None,  # only a set's items are listed (test_diff_sets.py)
        "removed": None,
    }
    assert web["before"] == {"memory": GIB, "image": "debian-11"}
    assert web["after"]["memory"] == 2 * GIB


def test_steps_in_plan_order() -> None:
    assert plan_document(_sample_plan())["steps"] == [
        {"operation": "create", "address": "guests.web-0"},
        {"operation": "delete", "address": "guests.web-0"},
    ]


def test_blob_is_label_and_digest_and_secrets_are_hidden() -> None:
    text = render_plan_json(_sample_plan())
    assert "hunter2" not in text
    assert "s3cret" not in text
    assert '"old"' not in text
    web = json.loads(text)["changes"][1]
    assert web["after"]["cloud_init"] == {
        "user_data": {"label": "web.cloud.yaml", "digest": USER_DATA.digest},
        "password": "(sensitive)",
    }
    assert web["fields"][1]["before"] == web["fields"][1]["after"] == "(sensitive)"


def test_deterministic() -> None:
    assert render_plan_json(_sample_plan()) == render_plan_json(_sample_plan())


def test_empty_plan() -> None:
    document = plan_document(plan_of(destroy=True))
    assert document["destroy"] is True
    assert document["changes"] == document["steps"] == document["forget"] == []
    assert document["summary"] == {"add": 0, "change": 0, "destroy": 0}


def test_every_kind_is_documented() -> None:
    """The ``kind`` entry of the format (the docstring, and docs/plan-json.md made from
    it) names every kind a change can have: containers and pools too."""
    import provisioner.render.json as module

    doc = (Path(__file__).resolve().parents[2] / "docs" / "plan-json.md").read_text()
    sources = {"docstring": (str(module.__doc__), "``kind``", "``name``"),
               "docs/plan-json.md": (doc, "**`kind`", "**`name`")}
    for where, (text, start, end) in sources.items():
        entry = text.split(start, 1)[1].split(end, 1)[0]
        missing = [kind.value for kind in Kind if f'"{kind.value}"' not in entry]
        assert not missing, (where, missing)
