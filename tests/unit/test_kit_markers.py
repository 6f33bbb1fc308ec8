"""The ownership marker on every carrier: what the code before the kit wrote still reads,
and the kit writes the very same text; whose an object is."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import pytest

from provisioner.core.address import Address, Kind
from provisioner.core.resources import Blob
from provisioner.errors import ProviderError
from provisioner.providers.kit.marker import Marker, MarkerCodec, dump_memo, load_memo
from provisioner.providers.kit.ownership import Ownership, name_taken, stack_owner
from provisioner.providers.libvirt import ownership as libvirt
from provisioner.providers.proxmox import ownership as proxmox
from provisioner.providers.vsphere import ownership as vsphere

pytestmark = pytest.mark.unit

WEB = Address(Kind.GUEST, "web-0")
USER_DATA = Blob.of("web.yaml", b"#cloud-config\n")
SPEC = {"cpus": 2, "memory": 1073741824, "cloud_init": {"user_data": USER_DATA},
        "options": {"notes": "<b>a > b</b>"}}
DIGEST = "sha256:88c95955b024402aa9572b663f7eeb134f01343bb92af27b50e97e72b22c565f"
MEMO_JSON = ('{"cloud_init":{"user_data":{"digest":"' + DIGEST + '","label":"web.yaml"}},'
             '"cpus":2,"memory":1073741824,"options":{"notes":"NOTES"}}')

# Written by the providers' code before the kit (libvirt naming.py, proxmox marker.py,
# vsphere marker.py), for SPEC at guests.web-0:
LIBVIRT_TAG = (
    '<prov:owner xmlns:prov="https://provisioner.dev/xmlns/owner/1" stack="lab" '
    'provider="kvm" address="guests.web-0"><prov:spec>'
    + MEMO_JSON.replace("NOTES", "&lt;b&gt;a &gt; b&lt;/b&gt;") + "</prov:spec></prov:owner>")
LIBVIRT_BARE_TAG = ('<owner stack="lab" provider="kvm" address="guests.web-0">'
                    '<spec>{}</spec></owner>')
PROXMOX_DESCRIPTION = (
    'my notes\n\n<!-- provisioner:v1 {"address":"guests.web-0","provider":"pve","spec":'
    + MEMO_JSON.replace("NOTES", "<b\\u003ea \\u003e b</b\\u003e") + ',"stack":"lab"} -->')
VSPHERE_ATTRIBUTE = (
    '{"address":"guests.web-0","memo":'
    + MEMO_JSON.replace("NOTES", "\\u003cb\\u003ea \\u003e b\\u003c/b\\u003e")
    + ',"provider":"vc","stack":"lab"}')
VSPHERE_ANNOTATION = ('notes\n\nprovisioner:v1 {"address":"guests.web-0","memo":{"clone":"t"},'
                      '"provider":"vc","stack":"lab"}')
VSPHERE_CREATING = '{"address":"guests.web-0","memo":{},"provider":"vc","stack":"lab"}'


def _in_metadata(tag: str) -> ET.Element:
    root = ET.fromstring("<domain><name>web-0</name><metadata/></domain>")
    metadata = root.find("metadata")
    assert metadata is not None
    metadata.append(ET.fromstring(tag))
    return root


def test_libvirt_tags_written_before_the_kit_read_and_are_written_the_same() -> None:
    marker = libvirt.parse_owner(_in_metadata(LIBVIRT_TAG))
    assert marker == Marker("lab", "kvm", WEB, marker.memo if marker else {})
    assert marker is not None and marker.memo["cloud_init"]["user_data"] == USER_DATA
    assert marker.memo["options"] == {"notes": "<b>a > b</b>"}
    owner = libvirt.Ownership("lab", "kvm")
    assert owner.tag(WEB, SPEC) == LIBVIRT_TAG
    assert owner.tag(WEB, {}, namespaced=False) == LIBVIRT_BARE_TAG
    assert owner.owns(marker) and not libvirt.Ownership("lab", "other").owns(marker)


def test_a_libvirt_tag_without_a_provider_block_belongs_to_every_block_of_its_stack() -> None:
    legacy = LIBVIRT_TAG.replace(' provider="kvm"', "")
    marker = libvirt.parse_owner(_in_metadata(legacy))
    assert marker is not None and marker.provider is None
    assert libvirt.Ownership("lab", "other").owns(marker)
    assert not libvirt.Ownership("prod", "kvm").owns(marker)


def test_a_libvirt_create_refuses_a_domain_that_is_not_exactly_its_own() -> None:
    owner = libvirt.Ownership("lab", "kvm")
    owner.require_own(_in_metadata(LIBVIRT_TAG), WEB, "domain")
    with pytest.raises(ProviderError, match=r"guests.web-1: a domain named 'web-0' already "
                                            r"exists \(guests.web-0 of stack lab\)"):
        owner.require_own(_in_metadata(LIBVIRT_TAG), Address(Kind.GUEST, "web-1"), "domain")
    untagged = ET.fromstring("<domain><name>web-0</name></domain>")
    with pytest.raises(ProviderError, match=r"already exists \(untagged\)"):
        owner.require_own(untagged, WEB, "domain")


def test_proxmox_markers_written_before_the_kit_read_and_are_written_the_same() -> None:
    marker = proxmox.parse_marker(PROXMOX_DESCRIPTION)
    assert marker is not None and (marker.stack, marker.provider, marker.address) == \
        ("lab", "pve", WEB)
    assert marker.memo["options"] == {"notes": "<b>a > b</b>"}
    assert proxmox.notes_of(PROXMOX_DESCRIPTION) == "my notes"
    assert proxmox.Ownership("lab", "pve").description("my notes\n", WEB, SPEC) == \
        PROXMOX_DESCRIPTION


def test_a_proxmox_marker_without_a_provider_block_is_no_blocks() -> None:
    legacy = PROXMOX_DESCRIPTION.replace('"provider":"pve",', "")
    marker = proxmox.parse_marker(legacy)
    assert marker is not None and marker.provider == ""
    assert not proxmox.Ownership("lab", "pve").owns(marker)


def test_vsphere_tags_written_before_the_kit_read_and_are_written_the_same() -> None:
    marker = vsphere.decode(VSPHERE_ATTRIBUTE)
    assert marker is not None and marker.memo["options"] == {"notes": "<b>a > b</b>"}
    owner = vsphere.Ownership("lab", "vc")
    assert vsphere.encode(owner.marker(WEB, SPEC)) == VSPHERE_ATTRIBUTE
    notes, tagged = vsphere.split_annotation(VSPHERE_ANNOTATION)
    assert notes == "notes" and tagged == owner.marker(WEB, {"clone": "t"})
    assert vsphere.with_annotation("notes", tagged) == VSPHERE_ANNOTATION
    assert owner.creating(WEB) == VSPHERE_CREATING
    assert vsphere.decode('{"address":"guests.web-0","stack":"lab"}') is None  # no block


def test_text_that_is_no_marker_decodes_to_none() -> None:
    codec = MarkerCodec("memo")
    for text in (None, "", "not json", "[1]", '"x"', '{"address":"nope"}'):
        assert codec.decode(text) is None
    assert load_memo("not json") == {} and load_memo("[1]") == {} and load_memo(None) == {}
    assert load_memo(dump_memo({"a": [1, USER_DATA]})) == {"a": [1, USER_DATA]}


def test_whose_an_object_is() -> None:
    owner = Ownership("lab", "kvm")
    ours, other_block = owner.marker(WEB), Marker("lab", "other", WEB)
    theirs = Marker("prod", "kvm", WEB)
    assert owner.owns(ours) and owner.owns_at(ours, WEB)
    assert not owner.owns_at(ours, Address(Kind.GUEST, "web-1"))
    assert not owner.owns(other_block) and owner.stranger(other_block) is None
    assert owner.stranger(theirs) == "stack prod" and owner.stranger(None) == "untagged"
    assert owner.whose(other_block) == "guests.web-0 of this stack"
    assert owner.whose(None) == stack_owner(None) == "untagged"
    error = name_taken("guests.web-0", "VM", "web-0", "untagged", where=" in folder lab")
    assert str(error) == "guests.web-0: a VM named 'web-0' already exists in folder lab " \
                         "(untagged)"
    assert error.hint == "rename the VM in the stack, or remove or rename that one"


def test_protection_is_written_only_when_set_and_older_markers_read_unprotected() -> None:
    codec = MarkerCodec(memo_key="spec")
    web = Address(Kind.GUEST, "web")
    plain = codec.encode(Marker("lab", "kvm", web, {"cpus": 1}))
    assert "prevent_destroy" not in plain, "an unprotected marker reads as it always did"
    assert codec.decode(plain) == Marker("lab", "kvm", web, {"cpus": 1})
    kept = codec.encode(Marker("lab", "kvm", web, {"cpus": 1}, protected=True))
    assert codec.decode(kept) == Marker("lab", "kvm", web, {"cpus": 1}, protected=True)
    assert codec.decode(kept.replace("true", '"yes"')).protected is False  # only true


def test_a_libvirt_tag_keeps_protection_as_an_attribute() -> None:
    owner = libvirt.Ownership("lab", "kvm")
    web = Address(Kind.GUEST, "web")
    for protected in (True, False):
        root = ET.fromstring(f"<domain><metadata>{owner.tag(web, {}, protected=protected)}"
                             "</metadata></domain>")
        assert libvirt.protected_mark(root) is protected
        assert libvirt.parse_owner(root) == Marker("lab", "kvm", web, {})
