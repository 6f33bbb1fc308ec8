"""A refused plan carries its problems as values: callers decide by address and field,
people read the same problems as text (issue 12)."""

from __future__ import annotations

import pytest

from provisioner.core.address import Address, Kind
from provisioner.core.problems import PlanRefused, Problem, problem_text
from provisioner.core.resources import LiveObject, Protection, Resource
from provisioner.errors import PlanError
from provisioner.plan.planner import PlanInputs, make_plan
from provisioner.providers.base import REPLACE, Inventory, KindSchema, ProviderSchema

DB = Address(Kind.GUEST, "db")
WEB = Address(Kind.GUEST, "web")
SCHEMA = {"kvm": ProviderSchema({Kind.GUEST: KindSchema({"image": REPLACE})})}


def _inputs(problems: list[Problem]) -> PlanInputs:
    db = Resource(DB, "kvm", {"image": "new"}, lifecycle=Protection(prevent_destroy=True))
    live = LiveObject(DB, "kvm", "db", "id-db", {"image": "old"})
    return PlanInputs("s", [db, Resource(WEB, "kvm", {"image": "x"})], SCHEMA,
                      {"kvm": Inventory([live])}, problems=problems)


def test_every_refusal_is_a_problem_naming_its_address() -> None:
    checked = Problem("pool 'fast' does not exist", WEB, "disks[0].pool", hint="make it")
    with pytest.raises(PlanRefused) as refused:
        make_plan(_inputs([checked]))
    by_address = {problem.address: problem for problem in refused.value.problems}
    assert set(by_address) == {DB, WEB}
    assert by_address[WEB] == checked
    assert "prevent_destroy" in by_address[DB].summary
    assert isinstance(refused.value, PlanError)  # the CLI prints it as any plan error
    for problem in refused.value.problems:
        assert problem_text(problem) in refused.value.message


def test_problem_text_names_address_field_and_hint() -> None:
    text = problem_text(Problem("pool 'fast' does not exist", WEB, "disks[0].pool",
                                detail="pools: default", hint="make it"))
    assert text == ("guests.web: disks[0].pool pool 'fast' does not exist\n"
                    "  pools: default\n  hint: make it")
