"""The pure parts of the vSphere provider, without a simulator: every fault translated
once into the project's errors (naming the VM), the ownership tag, guestinfo."""

from __future__ import annotations

import base64
import socket
import ssl
from dataclasses import replace

import pytest
import yaml
from pyVmomi import vim, vmodl

from provisioner.core.address import Address, Kind
from provisioner.core.resources import Blob, LiveObject
from provisioner.core.specs import CloudInitSpec
from provisioner.errors import ObjectNotFoundError, ProviderError, TransientProviderError
from provisioner.providers.kit.changes import value_at
from provisioner.providers.kit.marker import Marker
from provisioner.providers.vsphere import guestinfo
from provisioner.providers.vsphere.devices import parse_slot
from provisioner.providers.vsphere.faults import (
    DuplicateNameError,
    InvalidPowerStateError,
    SessionLostError,
    translate,
)
from provisioner.providers.vsphere.ownership import (
    Ownership,
    custom_value,
    decode,
    encode,
    extra_config,
    split_annotation,
    with_annotation,
)
from provisioner.providers.vsphere.schema import needs_power_off

WHAT = "guests.web: VM 'web'"
CASES = [
    (vim.fault.InsufficientMemoryResourcesFault(msg="Insufficient memory"), ProviderError,
     "guests.web: VM 'web': not enough resources: InsufficientMemoryResourcesFault "
     "(Insufficient memory)"),
    (vim.fault.InvalidPowerState(existingState="poweredOn", requestedState="poweredOff"),
     InvalidPowerStateError,
     "guests.web: VM 'web': wrong power state: it is poweredOn, and this needs it poweredOff"),
    (vim.fault.DuplicateName(name="web"), DuplicateNameError,
     "guests.web: VM 'web': the name 'web' is already taken"),
    (vim.fault.NoPermission(privilegeId="VirtualMachine.Inventory.Create"), ProviderError,
     "guests.web: VM 'web': permission denied: privilege VirtualMachine.Inventory.Create is "
     "missing"),
    (vim.fault.NotAuthenticated(), SessionLostError,
     "guests.web: VM 'web': the session is not logged in any more"),
    (vim.fault.InvalidLogin(), ProviderError,
     "guests.web: VM 'web': the user name or password is wrong"),
    (vim.fault.TaskInProgress(), TransientProviderError,
     "guests.web: VM 'web': TaskInProgress"),
    (vmodl.fault.HostCommunication(), TransientProviderError,
     "guests.web: VM 'web': HostCommunication"),
    (vmodl.fault.ManagedObjectNotFound(), ObjectNotFoundError,
     "guests.web: VM 'web': not found (it was deleted)"),
    (vmodl.fault.InvalidArgument(invalidProperty="configSpec.guestId"), ProviderError,
     "guests.web: VM 'web': vSphere refused the argument configSpec.guestId"),
    (vim.fault.FileNotFound(file="[ds] web/web.vmdk"), ProviderError,
     "guests.web: VM 'web': FileNotFound [ds] web/web.vmdk"),
    (vim.fault.InvalidState(msg="*types.InvalidState"), ProviderError,
     "guests.web: VM 'web': InvalidState"),
    (socket.gaierror(-2, "Name or service not known"), ProviderError,
     "guests.web: VM 'web': the server's host name does not resolve"),
    (ConnectionRefusedError(111, "Connection refused"), ProviderError,
     "guests.web: VM 'web': connection refused"),
    (TimeoutError("timed out"), TransientProviderError,
     "guests.web: VM 'web': no answer from the server (timed out)"),
]


@pytest.mark.parametrize(("fault", "kind", "message"), CASES,
                         ids=[type(case[0]).__name__.rsplit(".", 1)[-1] for case in CASES])
def test_faults_are_translated_naming_the_vm(fault: BaseException, kind: type[Exception],
                                             message: str) -> None:
    error = translate(fault, WHAT)
    assert type(error) is kind
    assert error.message == message


def test_an_untrusted_certificate_points_at_ca_file() -> None:
    failure = ssl.SSLCertVerificationError(1, "certificate verify failed")
    failure.verify_message = "self-signed certificate"
    error = translate(failure, "cannot log in")
    assert error.message == ("cannot log in: the server's TLS certificate could not be "
                             "verified (self-signed certificate)")
    assert "ca_file" in error.hint


def test_the_tag_round_trips_and_other_owners_are_told_apart() -> None:
    web = Address(Kind.GUEST, "web")
    memo = {"clone": "debian-12", "cloud_init": {"user_data": Blob.of("web.yaml", b"x")}}
    marker = Marker("lab", "vc", web, memo)
    decoded = decode(encode(marker))
    assert decoded is not None and decoded.address == web
    assert decoded.memo["cloud_init"]["user_data"] == Blob.of("web.yaml", b"x")
    assert "<" not in encode(Marker("lab", "vc", web, {"clone": "<b>"}))
    ours = Ownership("lab", "vc")
    assert ours.owns(decoded)
    assert not Ownership("lab", "other").owns(decoded)
    assert Ownership("lab", "other").stranger(decoded) is None  # another block of the stack
    assert Ownership("prod", "vc").stranger(decoded) == "stack lab"
    assert ours.stranger(None) == "untagged"
    assert decode("not json") is None and decode('{"stack": "x"}') is None


def test_notes_and_the_tag_share_the_annotation_on_esxi() -> None:
    marker = Marker("lab", "vc", Address(Kind.GUEST, "web"))
    text = with_annotation("line one\nline two", marker)
    assert split_annotation(text) == ("line one\nline two", marker)
    assert split_annotation(with_annotation("", marker)) == ("", marker)
    assert split_annotation("just notes") == ("just notes", None)


def test_the_last_value_wins_and_empty_means_removed() -> None:
    options = [vim.option.OptionValue(key="a", value="1"), vim.option.OptionValue(key="a",
               value="2"), vim.option.OptionValue(key="b", value="x"),
               vim.option.OptionValue(key="b", value="")]
    assert extra_config(options) == {"a": "2"}
    values = [vim.CustomFieldsManager.StringValue(key=1, value="old"),
              vim.CustomFieldsManager.StringValue(key=1, value="new"),
              vim.CustomFieldsManager.StringValue(key=2, value="other")]
    assert custom_value(values, 1) == "new"
    assert custom_value(values, None) is None


def test_guestinfo_documents_and_their_read_back() -> None:
    user = Blob.of("web.yaml", b"#cloud-config\nhostname: web\n")
    network = Blob.of("(inline)", b"#network\nversion: 2\n")
    spec = CloudInitSpec(user_data=user, network_config=network)
    keys = guestinfo.documents("web", spec)
    assert base64.b64decode(keys["guestinfo.userdata"]) == user.content
    metadata = yaml.safe_load(base64.b64decode(keys["guestinfo.metadata"]))
    assert metadata["local-hostname"] == "web"
    assert metadata["instance-id"].startswith("web-")
    assert base64.b64decode(metadata["network"]) == network.content
    assert guestinfo.documents("web", None) == dict.fromkeys(guestinfo.KEYS, "")

    memo = guestinfo.memo("web", spec)
    read = guestinfo.read(keys, memo)
    assert read == {"user_data": user, "meta_data": None, "network_config": network}
    assert read is not None and read["user_data"] is not None
    assert read["user_data"].label == "web.yaml" and read["user_data"].content == b""
    changed = {**keys, "guestinfo.metadata": base64.b64encode(b"instance-id: x\n").decode()}
    assert guestinfo.read(changed, memo)["meta_data"] is not None  # type: ignore[index]
    with pytest.raises(ValueError, match="must be a YAML mapping"):
        guestinfo.documents("web", replace(spec, meta_data=Blob.of("m", b"- a list\n")))


def test_slots() -> None:
    slot = parse_slot("scsi1:3")
    assert slot is not None and (slot.kind, slot.bus, slot.unit, str(slot)) == (
        "scsi", 1, 3, "scsi1:3")
    assert parse_slot("vdb") is None


def _live(**attributes: object) -> LiveObject:
    spec = {"cpus": 2, "memory": 1 << 30, "networks": [{"mac": "00:50:56:00:00:01"}]}
    return LiveObject(Address(Kind.GUEST, "web"), "vc", "web", "vm-1", spec,
                      attributes=attributes, running=True)


def test_restarts_follow_the_hot_add_flags() -> None:
    plain, hot = _live(), _live(cpu_hot_add=True, cpu_hot_remove=False, memory_hot_add=True)
    more = {"cpus": 4, "memory": 2 << 30, "networks": [{"mac": "00:50:56:00:00:02"}]}
    assert needs_power_off(["cpus"], plain, more)
    assert not needs_power_off(["cpus"], hot, more)
    assert needs_power_off(["cpus"], hot, {**more, "cpus": 1})  # no hot remove
    assert not needs_power_off(["memory"], hot, more)
    assert needs_power_off(["networks[0].mac"], hot, more)
    assert not needs_power_off(["networks[0].mac"], hot, {"networks": [{"mac": None}]})
    assert not needs_power_off(["power", "options.notes", "disks[0].size"], plain, more)
    assert needs_power_off(["options.guest_id"], hot, more)
    assert value_at(more, "networks[0].mac") == "00:50:56:00:00:02"
    assert value_at(more, "networks[3].mac") is None
