"""Plan text: exact output for a representative plan, colour, and what must never show."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import SecretStr
from support.plans import plan_of

from provisioner.core.address import Address, Kind
from provisioner.core.resources import Blob, Effect, LiveObject, Resource
from provisioner.plan.model import (
    Action,
    Cause,
    Change,
    FieldDiff,
    Plan,
    ReplaceOrder,
    SnapshotNote,
)
from provisioner.render.text import render_plan, render_summary_line
from provisioner.render.values import display, display_pair, plain
from provisioner.units import Bytes

pytestmark = pytest.mark.unit

GIB = 1 << 30
SECRET_CONTENT = b"#cloud-config\npassword: hunter2\n"
USER_DATA = Blob("web.cloud.yaml", "sha256:1a2b3c4d" + "e" * 56, SECRET_CONTENT)


def _guest(name: str) -> Address:
    return Address(Kind.GUEST, name)


def _live(address: Address, spec: dict[str, Any]) -> LiveObject:
    return LiveObject(address, "kvm", address.name, f"id-{address.name}", spec)


def _create(
    address: Address, spec: dict[str, Any], reason: str = "not on the hypervisor",
    cause: Cause = Cause.NEW,
) -> Change:
    return Change(address, "kvm", Action.CREATE, reason, desired=Resource(address, "kvm", spec),
                  cause=cause)


def _replace(address: Address, order: ReplaceOrder, reason: str, *fields: FieldDiff) -> Change:
    return Change(address, "kvm", Action.REPLACE, reason, fields, replace_order=order)


def representative_plan() -> Plan:
    web = _create(
        _guest("web-0"),
        {
            "cpus": 2,
            "memory": Bytes(2 * GIB),
            "description": None,
            "disks": [{"size": Bytes(10 * GIB), "pool": None}],
            "networks": [{"network": "lab"}],
            "tags": [],
            "labels": {},
            "cloud_init": {"user_data": USER_DATA, "password": SecretStr("s3cret")},
        },
    )
    db = Change(
        _guest("db"),
        "kvm",
        Action.UPDATE,
        "requires restart",
        (
            FieldDiff("memory", 4 * GIB, Bytes(8 * GIB), Effect.RESTART),
            FieldDiff("power", "stopped", "running", Effect.IN_PLACE),
        ),
    )
    app = _replace(
        _guest("app"),
        ReplaceOrder.DELETE_FIRST,
        "image forces replacement",
        FieldDiff("image", "debian-11", "debian-12", Effect.REPLACE),
        FieldDiff("disks[1]", {"size": 5 * GIB}, None, Effect.IN_PLACE),
    )
    api = _replace(
        _guest("api"),
        ReplaceOrder.CREATE_FIRST,
        "replacement requested with --replace",
        FieldDiff("disks[1]", None, {"size": Bytes(5 * GIB)}, Effect.IN_PLACE),
    )
    old = Change(
        Address(Kind.NETWORK, "old"),
        "kvm",
        Action.DELETE,
        "no longer in the stack",
        live=_live(Address(Kind.NETWORK, "old"), {}),
    )
    lab = Change(Address(Kind.NETWORK, "lab"), "kvm", Action.NOOP, "up to date")
    return plan_of(
        lab,
        web,
        db,
        app,
        api,
        old,
        forget=(_guest("gone"),),
        warnings=("guests.db was stopped outside provisioner",),
    )


EXPECTED = """\
provisioner will perform these actions:

  + guests.web-0 will be created
      cpus: 2
      memory: 2GiB
      disks[0]: {size: 10GiB}
      networks[0]: {network: "lab"}
      cloud_init.user_data: web.cloud.yaml (sha256:1a2b3c4d)
      cloud_init.password: (sensitive)

  ~ guests.db will be updated in place (requires restart)
      memory: 4GiB -> 8GiB  # requires restart
      power: "stopped" -> "running"

  -/+ guests.app will be replaced (delete, then create): image forces replacement
      image: "debian-11" -> "debian-12"  # forces replacement
      disks[1]: {size: 5GiB} -> null

  +/- guests.api will be replaced (create, then delete): replacement requested with --replace
      disks[1]: null -> {size: 5GiB}

  - networks.old will be deleted: no longer in the stack

  (state) guests.gone is gone from the hypervisor and no longer declared: forgotten on apply

Warning: guests.db was stopped outside provisioner

Plan: 3 to add, 1 to change, 3 to destroy.
"""


def test_representative_plan_text_is_exact() -> None:
    assert render_plan(representative_plan()) == EXPECTED


def test_same_plan_gives_identical_text() -> None:
    assert render_plan(representative_plan()) == render_plan(representative_plan())


def test_no_changes() -> None:
    plan = plan_of(Change(_guest("web-0"), "kvm", Action.NOOP, "up to date"))
    assert render_plan(plan) == "No changes. The hypervisors match the stack.\n"
    assert render_plan(plan, color=True) == "No changes. The hypervisors match the stack.\n"


def test_no_changes_still_shows_warnings() -> None:
    plan = plan_of(warnings=("provider kvm is slow",))
    assert render_plan(plan) == (
        "Warning: provider kvm is slow\n\nNo changes. The hypervisors match the stack.\n"
    )


def test_no_changes_after_a_selection_left_changes_out() -> None:
    """--target/--exclude left changes out: "the hypervisors match the stack" would be
    false; the Markdown plan (a pull-request comment) shows the warning too."""
    from provisioner.render.markdown import render_plan_markdown

    plan = plan_of(warnings=("--exclude left out 1 change (guests.web: create)",),
                   left_out="--exclude")
    assert render_plan(plan) == ("Warning: --exclude left out 1 change (guests.web: create)"
                                 "\n\nNo changes in the resources --exclude kept.\n")
    assert render_plan_markdown(plan).endswith(
        "> Warning: --exclude left out 1 change (guests.web: create)\n\n"
        "No changes in the resources --exclude kept.\n")


def test_snapshot_notes_come_before_warnings_and_show_in_markdown() -> None:
    from provisioner.render.markdown import render_plan_markdown

    notes = (SnapshotNote(_guest("db"), 1, None, Action.DELETE),
             SnapshotNote(_guest("web-0"), 2, 1288490189))
    plan = plan_of(warnings=("provider kvm is slow",), snapshots=notes)
    assert render_plan(plan) == (
        "Note: guests.db is deleted with its 1 snapshot\n"
        "Note: guests.web-0 keeps 2 snapshots (1.2GiB): they hold disk space until deleted"
        "\n\nWarning: provider kvm is slow\n\nNo changes. The hypervisors match the stack.\n")
    assert "\x1b[1mNote:\x1b[0m guests.db" in render_plan(plan, color=True)
    assert render_plan_markdown(plan).endswith(
        "> Note: guests.db is deleted with its 1 snapshot\n"
        "> Note: guests.web-0 keeps 2 snapshots (1.2GiB): they hold disk space until deleted\n"
        "> Warning: provider kvm is slow\n\nNo changes. The hypervisors match the stack.\n")
    replaced = SnapshotNote(_guest("app"), 1, 2 * GIB, Action.REPLACE)
    assert replaced.text == "guests.app is replaced: its 1 snapshot (2GiB) is deleted with it"


def test_forget_only_is_a_change() -> None:
    text = render_plan(plan_of(forget=(_guest("gone"),)))
    assert "(state) guests.gone is gone" in text
    assert text.endswith("Plan: 0 to add, 0 to change, 0 to destroy.\n")


def test_no_escapes_without_color() -> None:
    assert "\x1b" not in render_plan(representative_plan())


def test_colour_marks_symbols_effects_and_summary() -> None:
    text = render_plan(representative_plan(), color=True)
    assert "  \x1b[32m+\x1b[0m guests.web-0" in text
    assert "  \x1b[33m~\x1b[0m guests.db" in text
    assert "  \x1b[35m-/+\x1b[0m guests.app" in text
    assert "  \x1b[35m+/-\x1b[0m guests.api" in text
    assert "  \x1b[31m-\x1b[0m networks.old" in text
    assert "\x1b[31m# forces replacement\x1b[0m" in text
    assert "\x1b[33m# requires restart\x1b[0m" in text
    assert "\x1b[1mPlan: 3 to add, 1 to change, 3 to destroy.\x1b[0m\n" in text


def test_colour_only_adds_escapes() -> None:
    coloured = render_plan(representative_plan(), color=True)
    stripped = coloured
    for code in ("\x1b[0m", "\x1b[1m", "\x1b[31m", "\x1b[32m", "\x1b[33m", "\x1b[35m"):
        stripped = stripped.replace(code, "")
    assert stripped == EXPECTED


@pytest.mark.parametrize("color", [False, True])
def test_blob_content_and_secret_never_shown(color: bool) -> None:
    text = render_plan(representative_plan(), color=color)
    assert "hunter2" not in text
    assert "s3cret" not in text


def test_create_reason_shown_only_when_deleted_outside() -> None:
    gone = _create(_guest("web-0"), {"cpus": 1}, reason="deleted outside provisioner",
                   cause=Cause.VANISHED)
    fresh = _create(_guest("web-1"), {"cpus": 1})
    text = render_plan(plan_of(gone, fresh))
    assert "  + guests.web-0 will be created: deleted outside provisioner\n" in text
    assert "  + guests.web-1 will be created\n" in text


def test_update_in_place_has_no_comment_or_restart_note() -> None:
    change = Change(
        _guest("db"),
        "kvm",
        Action.UPDATE,
        "in place",
        (FieldDiff("autostart", False, True, Effect.IN_PLACE),),
    )
    text = render_plan(plan_of(change))
    assert "  ~ guests.db will be updated in place\n      autostart: false -> true\n" in text


def test_summary_line() -> None:
    assert render_summary_line(representative_plan()) == (
        "Plan: 3 to add, 1 to change, 3 to destroy."
    )


@pytest.mark.parametrize(
    ("value", "shown"),
    [
        (Bytes(2 * GIB), "2GiB"),
        (Bytes(1536), "1536B"),
        (2048, "2048"),
        (True, "true"),
        (None, "null"),
        ("lab", '"lab"'),
        ('say "hi"', '"say \\"hi\\""'),
        ({"size": Bytes(GIB), "pool": None}, "{size: 1GiB}"),
        (["a", 1], '["a", 1]'),
        (SecretStr("s3cret"), "(sensitive)"),
        (Blob("a.yaml", "sha256:1a2b3c4d5e6f", b"x"), "a.yaml (sha256:1a2b3c4d)"),
    ],
)
def test_display(value: Any, shown: str) -> None:
    assert display(value) == shown


def test_display_pair_sizes_the_plain_int_side() -> None:
    assert display_pair(4 * GIB, Bytes(8 * GIB)) == ("4GiB", "8GiB")
    assert display_pair(Bytes(8 * GIB), 4 * GIB) == ("8GiB", "4GiB")
    assert display_pair({"size": GIB}, {"size": Bytes(2 * GIB)}) == ("{size: 1GiB}", "{size: 2GiB}")
    assert display_pair(2, 4) == ("2", "4")
    assert display_pair(True, Bytes(GIB)) == ("true", "1GiB")


def test_plain_redacts_secrets_and_blob_content() -> None:
    value = {"pw": SecretStr("s3cret"), "ud": [USER_DATA], "mem": Bytes(GIB)}
    assert plain(value) == {
        "pw": "(sensitive)",
        "ud": [{"label": "web.cloud.yaml", "digest": USER_DATA.digest}],
        "mem": GIB,
    }


@pytest.mark.parametrize(("path", "before", "after", "shown"), [
    ("options.max_memory", 536870912, None, ("512MiB", "null")),
    ("disks[2]", {"size": 2147483648, "pool": "big"}, None, ('{size: 2GiB, pool: "big"}', "null")),
    ("cpus", 2, None, ("2", "null")),
])
def test_sizes_keep_their_units_when_the_other_side_is_null(
        path: str, before: Any, after: Any, shown: tuple[str, str]) -> None:
    """A dropped option or a disk removed by hand: no Bytes on the other side to follow."""
    assert display_pair(before, after, path) == shown
