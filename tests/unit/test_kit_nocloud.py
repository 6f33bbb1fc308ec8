"""The cloud-init NoCloud seed: files, defaults and a deterministic ISO (no daemon)."""

from __future__ import annotations

import io
import time

import pycdlib
import pytest
import yaml

from provisioner.core.resources import Blob
from provisioner.core.specs import CloudInitSpec
from provisioner.providers.kit.nocloud import (
    EMPTY_USER_DATA,
    SeedFiles,
    build_iso,
    seed_digest,
    seed_files,
)

pytestmark = pytest.mark.unit

USER_DATA = b"#cloud-config\npassword: hunter2\n"
NETWORK = b"version: 2\nethernets:\n  eth0: {dhcp4: true}\n"


def spec(user: bytes | None = USER_DATA, meta: bytes | None = None,
         network: bytes | None = None) -> CloudInitSpec:
    return CloudInitSpec(
        user_data=None if user is None else Blob.of("user-data.yaml", user),
        meta_data=None if meta is None else Blob.of("meta-data.yaml", meta),
        network_config=None if network is None else Blob.of("network.yaml", network),
    )


def meta(files: SeedFiles | None) -> dict[str, object]:
    assert files is not None
    document = yaml.safe_load(files.meta_data)
    assert isinstance(document, dict)
    return document


def read(iso_bytes: bytes, **path: str) -> bytes:
    iso = pycdlib.PyCdlib()
    iso.open_fp(io.BytesIO(iso_bytes))
    try:
        out = io.BytesIO()
        iso.get_file_from_iso_fp(out, **path)
        return out.getvalue()
    finally:
        iso.close()


# --- files -----------------------------------------------------------------------


def test_no_cloud_init_means_no_seed() -> None:
    assert seed_files("web-0", None) is None


def test_files_carry_the_contents_as_given() -> None:
    files = seed_files("web-0", spec(network=NETWORK))
    assert files is not None
    assert files.user_data == USER_DATA
    assert files.network_config == NETWORK


def test_absent_files_stay_absent() -> None:
    files = seed_files("web-0", spec(user=None))
    assert files is not None
    assert files.user_data is None
    assert files.network_config is None


def test_default_meta_data_names_the_guest() -> None:
    document = meta(seed_files("web-0", spec()))
    assert document["local-hostname"] == "web-0"
    instance_id = str(document["instance-id"])
    prefix, _, suffix = instance_id.rpartition("-")
    assert prefix == "web-0"
    assert len(suffix) == 12
    assert int(suffix, 16) >= 0


def test_a_numeric_name_stays_a_string() -> None:
    assert meta(seed_files("1234", spec()))["local-hostname"] == "1234"


def test_same_inputs_give_the_same_instance_id() -> None:
    first = meta(seed_files("web-0", spec(network=NETWORK)))["instance-id"]
    second = meta(seed_files("web-0", spec(network=NETWORK)))["instance-id"]
    assert first == second


@pytest.mark.parametrize("changed", [
    spec(user=USER_DATA + b"packages: [nginx]\n"),
    spec(user=None),
    spec(meta=b"foo: bar\n"),
    spec(network=NETWORK),
])
def test_changed_inputs_give_a_new_instance_id(changed: dict[str, Blob | None]) -> None:
    before = meta(seed_files("web-0", spec()))["instance-id"]
    assert meta(seed_files("web-0", changed))["instance-id"] != before


def test_user_meta_data_keys_are_kept() -> None:
    text = b"instance-id: mine\nlocal-hostname: db.example.org\nfoo: bar\n"
    files = seed_files("web-0", spec(meta=text))
    assert files is not None
    assert files.meta_data == text  # nothing to add: the user's text, untouched


def test_missing_default_keys_are_added_to_user_meta_data() -> None:
    text = b"# a comment\nlocal-hostname: db\npublic-keys: [ssh-ed25519 AAAA]"
    files = seed_files("web-0", spec(meta=text))
    assert files is not None
    assert files.meta_data.startswith(text)  # appended, the user's text is kept
    document = meta(files)
    assert document["local-hostname"] == "db"
    assert str(document["instance-id"]).startswith("web-0-")
    assert document["public-keys"] == ["ssh-ed25519 AAAA"]


def test_a_flow_mapping_meta_data_is_merged() -> None:
    document = meta(seed_files("web-0", spec(meta=b"{instance-id: mine}")))
    assert document["instance-id"] == "mine"
    assert document["local-hostname"] == "web-0"


def test_empty_meta_data_gets_the_defaults() -> None:
    document = meta(seed_files("web-0", spec(meta=b"# nothing yet\n")))
    assert set(document) == {"instance-id", "local-hostname"}


@pytest.mark.parametrize(("text", "kind"), [
    (b"- secret-one\n- secret-two\n", "list"),
    (b"secret-scalar\n", "str"),
])
def test_meta_data_that_is_not_a_mapping_is_refused(text: bytes, kind: str) -> None:
    with pytest.raises(ValueError, match="mapping") as caught:
        seed_files("web-0", spec(meta=text))
    message = str(caught.value)
    assert "web-0" in message
    assert "cloud_init.meta_data" in message
    assert kind in message
    assert "secret" not in message


def test_invalid_yaml_meta_data_is_refused_without_echoing_it() -> None:
    with pytest.raises(ValueError, match="not valid YAML") as caught:
        seed_files("web-0", spec(meta=b"password: secret\n  bad: [indent\n"))
    assert "secret" not in str(caught.value)
    assert caught.value.__cause__ is None
    assert caught.value.__suppress_context__


def test_a_blob_without_content_is_refused() -> None:
    restored = Blob("user-data.yaml", Blob.of("x", USER_DATA).digest, b"")  # as from state
    with pytest.raises(ValueError, match="no content"):
        seed_files("web-0", CloudInitSpec(user_data=restored))


# --- ISO -------------------------------------------------------------------------


@pytest.fixture
def files() -> SeedFiles:
    built = seed_files("web-0", spec(network=NETWORK))
    assert built is not None
    return built


def test_iso_is_labelled_cidata(files: SeedFiles) -> None:
    iso = pycdlib.PyCdlib()
    iso.open_fp(io.BytesIO(build_iso(files)))
    try:
        assert iso.pvd.volume_identifier.rstrip() == b"cidata"
    finally:
        iso.close()


@pytest.mark.parametrize("lookup", ["rr_path", "joliet_path"])
def test_iso_files_keep_their_names_and_contents(files: SeedFiles, lookup: str) -> None:
    image = build_iso(files)
    assert read(image, **{lookup: "/user-data"}) == USER_DATA
    assert read(image, **{lookup: "/meta-data"}) == files.meta_data
    assert read(image, **{lookup: "/network-config"}) == NETWORK


def test_iso_without_user_data_still_has_the_file() -> None:
    files = seed_files("web-0", spec(user=None))
    assert files is not None
    image = build_iso(files)
    assert read(image, rr_path="/user-data") == EMPTY_USER_DATA
    with pytest.raises(pycdlib.pycdlibexception.PyCdlibInvalidInput):
        read(image, rr_path="/network-config")


def test_iso_size_is_whole_sectors(files: SeedFiles) -> None:
    assert len(build_iso(files)) % 2048 == 0


def test_iso_is_byte_identical_at_another_time_and_zone(
    files: SeedFiles, monkeypatch: pytest.MonkeyPatch
) -> None:
    first = build_iso(files)
    monkeypatch.setattr(time, "time", lambda: 1_700_000_000.5)
    monkeypatch.setenv("TZ", "Asia/Kolkata")
    time.tzset()
    try:
        second = build_iso(files)
    finally:
        monkeypatch.undo()
        time.tzset()
    assert second == first


def test_iso_dates_are_pinned(files: SeedFiles) -> None:
    iso = pycdlib.PyCdlib()
    iso.open_fp(io.BytesIO(build_iso(files)))
    try:
        for vd in (iso.pvd, iso.joliet_vd):
            assert vd.volume_creation_date.record() == b"2000010100000000\x00"
            assert vd.volume_modification_date.record() == b"2000010100000000\x00"
        for child in iso.list_children(rr_path="/"):
            assert child.date.record() == bytes([100, 1, 1, 0, 0, 0, 0])
            tf = child.rock_ridge.dr_entries.tf_record
            stamps = [tf.creation_time, tf.access_time, tf.modification_time,
                      tf.attribute_change_time]
            assert {s.record() for s in stamps if s is not None} == {bytes([100, 1, 1, 0, 0, 0, 0])}
    finally:
        iso.close()


def test_a_user_data_change_changes_the_iso(files: SeedFiles) -> None:
    changed = seed_files("web-0", spec(user=USER_DATA + b"packages: [nginx]\n", network=NETWORK))
    assert changed is not None
    assert build_iso(changed) != build_iso(files)
    assert seed_digest(changed) != seed_digest(files)


def test_seed_digest_is_stable(files: SeedFiles) -> None:
    digest = seed_digest(files)
    assert digest.startswith("sha256:")
    assert len(digest) == len("sha256:") + 64
    assert seed_digest(files) == digest
