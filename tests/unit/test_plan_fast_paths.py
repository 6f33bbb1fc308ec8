"""The planner's and the store's shortcuts give what the plain way gives.

A large plan skips work (fingerprints computed on first use, a stored spec
turned back into values only where it is compared, the JSON columns of every
applied row decoded together); each test here compares a shortcut with the
plain computation it replaces.
"""

from __future__ import annotations

import json
import sqlite3
from typing import Any

import pytest

from provisioner.core.address import Address, Kind
from provisioner.core.resources import (
    Blob,
    Effect,
    LiveObject,
    Resource,
    from_plain,
    loads_plain,
    to_plain,
)
from provisioner.errors import StateError
from provisioner.plan.diff import diff_resource
from provisioner.plan.model import Fingerprints
from provisioner.providers.base import FieldRule, KindSchema
from provisioner.state.rows import dumps, records_from_rows

pytestmark = pytest.mark.unit

WEB = Address(Kind.GUEST, "web")
USER_DATA = Blob.of("web.cloud.yaml", b"#cloud-config\n")


def live(spec: dict[str, Any], id_: str = "1") -> LiveObject:
    return LiveObject(WEB, "kvm", "web", id_, spec, running=True)


def test_fingerprints_are_computed_on_first_use_and_match_the_objects() -> None:
    network = LiveObject(Address(Kind.NETWORK, "lab"), "kvm", "lab", "n1", {"cidr": "10.0.0.0/24"})
    objects = [live({"cpus": 2, "cloud_init": {"user_data": USER_DATA}}), network]
    lazy = Fingerprints(objects)
    eager = {f"{obj.address}#{obj.id}": obj.fingerprint() for obj in objects}
    assert dict(lazy) == eager
    assert lazy == eager
    assert lazy["guests.web#1"] == objects[0].fingerprint()
    assert len(lazy) == 2


SCHEMA = KindSchema(
    fields={"cpus": FieldRule(Effect.IN_PLACE),
            "cloud_init": FieldRule(Effect.REPLACE)},
)


@pytest.mark.parametrize("live_spec", [
    {"cpus": 2},  # cloud_init unreadable: compared with the stored value
    {"cpus": 2, "cloud_init": {"user_data": USER_DATA}},
    {"cpus": 4, "cloud_init": None},
], ids=["unreadable", "readable", "changed"])
@pytest.mark.parametrize("stored_data", [USER_DATA, Blob.of("old", b"old")], ids=["same", "old"])
def test_stored_prior_diffs_like_its_converted_values(
    live_spec: dict[str, Any], stored_data: Blob
) -> None:
    desired = Resource(WEB, "kvm", {"cpus": 2, "cloud_init": {"user_data": USER_DATA}})
    stored = to_plain({"cpus": 2, "cloud_init": {"user_data": stored_data}})
    lazy = diff_resource(desired, live(live_spec), stored, SCHEMA)
    converted = diff_resource(desired, live(live_spec), from_plain(stored), SCHEMA)
    assert lazy == converted
    if "cloud_init" not in live_spec:  # only the stored digest tells it changed
        changed = stored_data != USER_DATA
        assert [f.path for f in lazy.fields] == (["cloud_init.user_data"] if changed else [])


def rows(specs: list[str]) -> list[sqlite3.Row]:
    connection = sqlite3.connect(":memory:")
    connection.row_factory = sqlite3.Row
    connection.execute("CREATE TABLE applied (address, provider, spec, deps, live_id, name,"
                       " attributes, prevent_destroy, applied_at)")
    connection.executemany(
        "INSERT INTO applied VALUES (?, 'kvm', ?, ?, 'id', ?, ?, 0, 'now')",
        [(f"guests.g-{i}", spec, dumps(["networks.lab"]), f"g-{i}", dumps({"ip": f"10.0.0.{i}"}))
         for i, spec in enumerate(specs)])
    return connection.execute("SELECT * FROM applied ORDER BY rowid").fetchall()


def test_applied_rows_decode_as_each_value_alone() -> None:
    specs = [dumps({"cpus": i, "disks": [{"size": 1 << 30}], "note": "a],[b"}) for i in range(3)]
    records = records_from_rows(rows(specs))
    assert [str(a) for a in records] == ["guests.g-0", "guests.g-1", "guests.g-2"]
    for index, record in enumerate(records.values()):
        assert record.spec == json.loads(specs[index])
        assert record.deps == (Address(Kind.NETWORK, "lab"),)
        assert record.attributes == {"ip": f"10.0.0.{index}"}


def test_a_damaged_value_fails_as_it_would_alone() -> None:
    with pytest.raises(StateError, match="damaged record of what was applied: Extra data"):
        records_from_rows(rows([dumps({"cpus": 1}), '{"cpus": 2},{"x": 1}']))
    with pytest.raises(StateError):
        records_from_rows(rows(['{"cpus": ']))


def test_an_owner_tag_decoded_in_one_pass_equals_the_plain_decode() -> None:
    spec = {"cloud_init": {"user_data": USER_DATA, "extra": [{"blob": USER_DATA}]},
            "disks": [{"size": 1, "labels": {"label": "x", "digest": "not-a-digest"}}],
            "cpus": 2, "name": None}
    text = json.dumps(to_plain(spec))
    decoded = loads_plain(text)
    assert decoded == from_plain(json.loads(text))
    assert decoded["cloud_init"]["user_data"] == Blob(USER_DATA.label, USER_DATA.digest, b"")
    assert decoded["disks"][0]["labels"] == {"label": "x", "digest": "not-a-digest"}
