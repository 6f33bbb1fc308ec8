"""The kit's change filtering: which settings a list of changed paths touches, and the
spec an update writes."""

from __future__ import annotations

from typing import Any

import pytest

from provisioner.core.address import Address, Kind
from provisioner.core.resources import Effect, LiveObject, Resource
from provisioner.providers.base import IN_PLACE, RESTART, KindSchema
from provisioner.providers.kit.changes import (
    effect_of,
    field_of,
    only_changed,
    touched,
    value_at,
    within,
)

pytestmark = pytest.mark.unit

WEB = Address(Kind.GUEST, "web")


def test_paths_within_and_touched() -> None:
    assert within("disks[0].size", "disks") and within("options.notes", "options")
    assert within("cpus", "cpus") and not within("cpus_max", "cpus")
    assert touched("options.notes", ["options"]) and touched("options", ["options.notes"])
    assert not touched("options.pool", ["options.tags", "cpus"])
    assert field_of("disks[1].size") == "disks" and field_of("options.tags") == "options"


def test_only_changed_keeps_what_the_plan_did_not_list() -> None:
    declared = Resource(WEB, "kvm", {"cpus": 4, "memory": 2048, "disks": [{"size": 2}],
                                     "new": 1})
    live = LiveObject(WEB, "kvm", "web", "1", {"cpus": 2, "memory": 1024,
                                               "disks": [{"size": 1}]})
    written = only_changed(declared, live, ["cpus", "disks[0].size"])
    assert written.spec == {"cpus": 4, "memory": 1024, "disks": [{"size": 2}], "new": 1}
    assert only_changed(declared, None, None) is declared


def test_value_at_a_diff_path() -> None:
    spec: dict[str, Any] = {"networks": [{"mac": "a"}], "options": {"tags": ["x"]}}
    assert value_at(spec, "networks[0].mac") == "a"
    assert value_at(spec, "networks[3].mac") is None
    assert value_at(spec, "options.tags") == ["x"] and value_at(spec, "nope.deeper") is None


def test_effect_of_is_the_rule_refined_by_the_values() -> None:
    def refine(path: str, before: Any, after: Any, _live: LiveObject) -> Effect | None:
        return Effect.IN_PLACE if path == "memory" and after <= before else None

    schema = KindSchema(fields={"memory": RESTART, "power": IN_PLACE}, refine=refine)
    live = LiveObject(WEB, "kvm", "web", "1", {"memory": 2048})
    assert effect_of(schema, "memory", live, {"memory": 1024}) is Effect.IN_PLACE
    assert effect_of(schema, "memory", live, {"memory": 4096}) is Effect.RESTART
    assert effect_of(schema, "power", live, {}) is Effect.IN_PLACE
    assert effect_of(schema, "image", live, {}) is Effect.REPLACE
