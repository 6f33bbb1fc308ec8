"""Lists a provider declares unordered (tags) diff as sets, in the diff and in print.

A tag added by hand shows as that one tag going away, not as every tag after
it moving up one place; an order the hypervisor changes is no diff at all.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from support.plans import plan_of

from provisioner.core.address import Address, Kind
from provisioner.core.resources import Effect, LiveObject, Protection, Resource, to_plain
from provisioner.plan.diff import changed_paths, diff_resource
from provisioner.plan.drift import find_drift
from provisioner.plan.model import Action, Change, FieldDiff, Plan
from provisioner.providers.base import (
    IN_PLACE,
    RESTART,
    Inventory,
    KindSchema,
    ProviderSchema,
)
from provisioner.providers.proxmox.schema import CONTAINER_SCHEMA, GUEST_SCHEMA
from provisioner.render.drift import render_drift_text
from provisioner.render.json import render_plan_json
from provisioner.render.markdown import render_plan_markdown
from provisioner.render.text import render_plan
from provisioner.state.store import AppliedRecord

pytestmark = pytest.mark.unit

WEB = Address(Kind.GUEST, "web")
SCHEMA = KindSchema(fields={"options.tags": IN_PLACE, "options": RESTART, "disks": RESTART},
                    unordered=frozenset({"options.tags"}))


def desired(tags: list[str] | None, ignore: tuple[str, ...] = ()) -> Resource:
    options: dict[str, Any] = {} if tags is None else {"tags": tags}
    return Resource(WEB, "pve", {"cpus": 1, "options": options},
                    lifecycle=Protection(ignore_changes=tuple(ignore)))


def live(tags: list[str] | None) -> LiveObject:
    options: dict[str, Any] = {} if tags is None else {"tags": tags}
    return LiveObject(WEB, "pve", "web", "100", {"cpus": 1, "options": options}, running=True)


def diffs(want: list[str] | None, have: list[str] | None, prior: list[str] | None = None,
          ignore: tuple[str, ...] = ()) -> list[FieldDiff]:
    stored = None if prior is None else to_plain({"cpus": 1, "options": {"tags": prior}})
    return diff_resource(desired(want, ignore), live(have), stored, SCHEMA).fields


def test_a_tag_added_by_hand_is_one_removal_not_a_shift() -> None:
    [diff] = diffs(["lab", "holdout"], ["hand-edited", "holdout", "lab"])
    assert (diff.path, diff.added, diff.removed) == ("options.tags", (), ("hand-edited",))
    assert diff.effect is Effect.IN_PLACE
    assert changed_paths([diff]) == ["options.tags"]  # what provider.update() is told


def test_a_declared_tag_is_one_addition() -> None:
    [diff] = diffs(["lab", "holdout", "new"], ["holdout", "lab"])
    assert (diff.added, diff.removed) == (("new",), ())


def test_order_alone_is_no_change() -> None:
    assert diffs(["b", "a", "c"], ["a", "b", "c"]) == []
    assert diffs(["a", "a", "b"], ["b", "a"]) == []  # a set holds a tag once


def test_unreadable_tags_are_compared_with_the_last_apply_as_a_set() -> None:
    assert diffs(["b", "a"], None, prior=["a", "b"]) == []
    [diff] = diffs(["a", "c"], None, prior=["b", "a"])
    assert (diff.path, diff.added, diff.removed) == ("options.tags", ("c",), ("b",))


def test_ignore_changes_covers_a_set() -> None:
    assert diffs(["a"], ["b", "c"], ignore=("options.tags",)) == []
    assert diffs(["a"], ["b", "c"], ignore=("options",)) == []


def test_tags_removed_from_the_stack_go_back_to_none() -> None:
    [diff] = diffs(None, ["b", "a"], prior=["a", "b"])
    assert (diff.after, diff.added, diff.removed) == (None, (), ("b", "a"))


def test_ordered_lists_still_diff_by_position() -> None:
    schema = KindSchema(fields={"options": RESTART})  # tags not declared unordered
    result = diff_resource(desired(["a", "b"]), live(["b", "a"]), None, schema).fields
    assert [(d.path, d.unordered) for d in result] == [
        ("options.tags[0]", False), ("options.tags[1]", False)]


def test_proxmox_declares_its_tags_as_sets() -> None:
    for schema in (GUEST_SCHEMA, CONTAINER_SCHEMA):
        assert schema.is_unordered("options.tags")
        assert not schema.is_unordered("disks")


def _plan(*fields: FieldDiff) -> Plan:
    return plan_of(Change(WEB, "pve", Action.UPDATE, "in place", fields, desired=desired(["a"]),
                          live=live(["b"])))


TAGS = FieldDiff("options.tags", ["x", "holdout", "hand-edited"], ["holdout", "new"],
                 Effect.IN_PLACE, unordered=True)


def test_text_and_markdown_show_what_the_set_gains_and_loses() -> None:
    line = 'options.tags: + "new", - "x", - "hand-edited"'
    assert f"      {line}\n" in render_plan(_plan(TAGS))
    assert f"! {line}\n" in render_plan_markdown(_plan(TAGS))


def test_json_lists_added_and_removed_items_of_a_set() -> None:
    positional = FieldDiff("cpus", 1, 2, Effect.RESTART)
    fields = json.loads(render_plan_json(_plan(TAGS, positional)))["changes"][0]["fields"]
    assert fields[0] == {"path": "options.tags", "before": ["x", "holdout", "hand-edited"],
                         "after": ["holdout", "new"], "effect": "in place",
                         "added": ["new"], "removed": ["x", "hand-edited"]}
    assert fields[1]["added"] is None and fields[1]["removed"] is None


def test_drift_shows_a_tag_added_on_the_hypervisor() -> None:
    record = AppliedRecord(WEB, "pve", name="web", live_id="100",
                           spec=to_plain({"cpus": 1, "options": {"tags": ["a", "b"]}}))
    schemas = {"pve": ProviderSchema(kinds={Kind.GUEST: SCHEMA})}
    found = find_drift({WEB: record}, {"pve": Inventory([live(["b", "hand", "a"])])}, schemas)
    assert '      options.tags: + "hand"\n' in render_drift_text(found)
