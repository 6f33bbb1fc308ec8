"""Parsing the variables that select real targets (tests/support/real_hosts.py)."""

from __future__ import annotations

from pathlib import Path

import pytest
from support import real_hosts
from support.real_hosts import RealHostError

PVE = {"PROVISIONER_TEST_PVE": "https://pve.example:8006/",
       "PROVISIONER_TEST_PVE_TOKEN_ID": "ci@pve!tests",
       "PROVISIONER_TEST_PVE_TOKEN_SECRET": "s3cret-uuid"}
VSPHERE = {"PROVISIONER_TEST_VSPHERE": "https://vc.example",
           "PROVISIONER_TEST_VSPHERE_USER": "ci@vsphere.local",
           "PROVISIONER_TEST_VSPHERE_PASSWORD": "hunter2-pw",
           "PROVISIONER_TEST_VSPHERE_DATACENTER": "DC", "PROVISIONER_TEST_VSPHERE_CLUSTER": "C",
           "PROVISIONER_TEST_VSPHERE_DATASTORE": "ds1",
           "PROVISIONER_TEST_VSPHERE_NETWORK": "VM Network"}


def test_nothing_set_selects_no_target() -> None:
    assert real_hosts.targets({}) == {}
    assert real_hosts.pve({"PROVISIONER_TEST_PVE": "  "}) is None


def test_proxmox_with_defaults_and_lists() -> None:
    target = real_hosts.pve({**PVE, "PROVISIONER_TEST_PVE_NODES": "pve-a, pve-b"})
    assert target == real_hosts.PveTarget(
        url="https://pve.example:8006", token_id="ci@pve!tests", token_secret="s3cret-uuid",
        nodes=("pve-a", "pve-b"), storage="local-lvm", template="debian-12", bridge="vmbr0")
    assert "s3cret" not in repr(target) and "s3cret" not in real_hosts.describe(target)


def test_vsphere_xapi_and_libvirt() -> None:
    vc = real_hosts.vsphere(VSPHERE)
    assert vc is not None and (vc.server, vc.port, vc.cluster, vc.host) == \
        ("vc.example", 443, "C", None)
    assert "hunter2" not in repr(vc)
    xapi = real_hosts.xapi({"PROVISIONER_TEST_XAPI": "https://xcp:443",
                            "PROVISIONER_TEST_XAPI_USER": "root",
                            "PROVISIONER_TEST_XAPI_PASSWORD": "xen-pw",
                            "PROVISIONER_TEST_XAPI_SR": "Local storage"})
    assert xapi is not None and xapi.sr == "Local storage" and "xen-pw" not in repr(xapi)
    lv = real_hosts.libvirt({"PROVISIONER_TEST_LIBVIRT_URI": "qemu+ssh://root@kvm1/system"})
    assert lv == real_hosts.LibvirtTarget("qemu+ssh://root@kvm1/system") and lv.remote
    local = real_hosts.libvirt({"PROVISIONER_TEST_LIBVIRT_URI": "qemu:///system"})
    assert local is not None and not local.remote
    assert set(real_hosts.targets({**PVE, **VSPHERE})) == {"proxmox", "vsphere"}


@pytest.mark.parametrize(("change", "expected"), [
    ({"PROVISIONER_TEST_PVE": "pve.example:8006"}, "PROVISIONER_TEST_PVE must be an https://"),
    ({"PROVISIONER_TEST_PVE": "https://pve:eighty"}, "bad port"),
    ({"PROVISIONER_TEST_PVE_TOKEN_ID": ""}, "set PROVISIONER_TEST_PVE_TOKEN_ID"),
    ({"PROVISIONER_TEST_PVE_TOKEN_ID": "ci@pve"}, "USER@REALM!TOKENID, not 'ci@pve'"),
    ({"PROVISIONER_TEST_PVE_TOKEN_SECRET": ""}, "set PROVISIONER_TEST_PVE_TOKEN_SECRET"),
    ({"PROVISIONER_TEST_PVE_NODES": "a,,b"}, "PROVISIONER_TEST_PVE_NODES: a comma-separated"),
    ({"PROVISIONER_TEST_PVE_CA_FILE": "/nonexistent/ca.pem"}, "no such file: /nonexistent"),
])
def test_proxmox_errors_name_the_variable(change: dict[str, str], expected: str) -> None:
    with pytest.raises(RealHostError) as caught:
        real_hosts.pve({**PVE, **change})
    assert expected in str(caught.value)
    assert "s3cret" not in str(caught.value)
    assert isinstance(caught.value, pytest.UsageError)


@pytest.mark.parametrize(("change", "expected"), [
    ({"PROVISIONER_TEST_VSPHERE_PASSWORD": ""}, "set PROVISIONER_TEST_VSPHERE_PASSWORD"),
    ({"PROVISIONER_TEST_VSPHERE_HOST": "esx1"}, "not both"),
    ({"PROVISIONER_TEST_VSPHERE_NETWORK": ""}, "set PROVISIONER_TEST_VSPHERE_NETWORK"),
])
def test_vsphere_errors_name_the_variable(change: dict[str, str], expected: str) -> None:
    with pytest.raises(RealHostError, match=expected):
        real_hosts.vsphere({**VSPHERE, **change})


def test_libvirt_uri_errors() -> None:
    with pytest.raises(RealHostError, match="must be a libvirt URI"):
        real_hosts.libvirt({"PROVISIONER_TEST_LIBVIRT_URI": "kvm1"})
    with pytest.raises(RealHostError, match="test driver"):
        real_hosts.libvirt({"PROVISIONER_TEST_LIBVIRT_URI": "test:///default"})


def test_the_ca_file_is_checked(tmp_path: Path) -> None:
    ca = tmp_path / "ca.pem"
    ca.write_text("-----BEGIN CERTIFICATE-----\n")
    target = real_hosts.pve({**PVE, "PROVISIONER_TEST_PVE_CA_FILE": str(ca)})
    assert target is not None and target.ca_file == str(ca)


def test_stack_names_are_unique_per_run_and_stable_within_it() -> None:
    assert real_hosts.stack_name("lab", {"PROVISIONER_TEST_RUN_ID": "ci42"}) == "lab-tci42"
    first = real_hosts.stack_name("lab", {})
    assert first == real_hosts.stack_name("lab", {}) and first.startswith("lab-t")
    with pytest.raises(RealHostError, match="RUN_ID"):
        real_hosts.run_id({"PROVISIONER_TEST_RUN_ID": "Bad Id"})
