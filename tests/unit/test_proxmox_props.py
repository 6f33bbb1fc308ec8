"""Proxmox values parsed by meaning: property strings by key, sizes in bytes, 0/1 booleans."""

from __future__ import annotations

import pytest

from provisioner.core.specs import NicSpec
from provisioner.providers.proxmox.lxc_spec import nets_of as lxc_nets
from provisioner.providers.proxmox.nics import (
    format_lxc_nic,
    format_qemu_nic,
    parse_qemu_nic,
    read_nic,
    write_nic,
)
from provisioner.providers.proxmox.props import (
    GIB,
    MIB,
    drive_slot,
    gib_text,
    parse_drive,
    parse_props,
    quote_keys,
    size_bytes,
    size_text,
    split_tags,
    to_bool,
    to_int,
    unquote_keys,
)


def test_property_strings_parse_by_key_whatever_the_order() -> None:
    a = parse_props("bridge=vmbr0,tag=10,firewall=1")
    b = parse_props("firewall=1,tag=10,bridge=vmbr0")
    assert a == b == {"bridge": "vmbr0", "tag": "10", "firewall": "1"}
    assert parse_props("local-lvm:vm-100-disk-0,size=2G", "file") == {
        "file": "local-lvm:vm-100-disk-0", "size": "2G"}
    assert parse_props(None) == {}


@pytest.mark.parametrize(("text", "size"), [
    ("32G", 32 * GIB), ("512M", 512 * MIB), ("4096K", 4 * MIB), ("1T", 1024 * GIB),
    ("1073741824", GIB), ("1.5G", 3 * GIB // 2), ("bogus", None), (None, None)])
def test_sizes_read_in_bytes(text: str | None, size: int | None) -> None:
    assert size_bytes(text) == size


def test_sizes_written_as_proxmox_writes_them() -> None:
    assert size_text(2 * GIB) == "2G"
    assert size_text(512 * MIB) == "512M"
    assert size_text(1536 * MIB) == "1536M"
    assert gib_text(4 * GIB) == "4"
    assert gib_text(512 * MIB) == "0.5"


@pytest.mark.parametrize(("value", "expected"), [
    (1, True), ("1", True), ("0", False), (0, False), ("true", True), ("off", False),
    (None, None)])
def test_booleans_from_numbers_and_strings(value: object, expected: bool | None) -> None:
    assert to_bool(value) is expected


def test_numbers_from_strings() -> None:
    assert to_int("2048") == 2048
    assert to_int(2048) == 2048
    assert to_int("2.0") == 2
    assert to_int(None) is None
    assert to_int("x") is None


def test_tags_split_on_any_separator() -> None:
    assert split_tags("a;b,c d") == ["a", "b", "c", "d"]
    assert split_tags("") == []


def test_ssh_keys_are_url_encoded_one_a_line() -> None:
    keys = ["ssh-ed25519 AAAA+/x= me@host", "ssh-rsa BBBB you@host"]
    encoded = quote_keys(keys)
    assert " " not in encoded and "\n" not in encoded
    assert unquote_keys(encoded) == keys


def test_drives() -> None:
    disk = parse_drive("local-lvm:vm-100-disk-0,iothread=1,size=32G")
    assert (disk.storage, disk.size, disk.format, disk.is_cdrom) == (
        "local-lvm", 32 * GIB, None, False)
    qcow = parse_drive("fast:100/vm-100-disk-1.qcow2,size=2G")
    assert qcow.format == "qcow2"
    assert parse_drive("local:iso/debian.iso,media=cdrom").is_cdrom
    assert parse_drive("none,media=cdrom").is_cdrom
    assert parse_drive("local-lvm:vm-100-cloudinit,media=cdrom").is_cloudinit
    assert parse_drive("local-lvm:cloudinit").is_cloudinit


def test_a_disk_proxmox_has_not_allocated_yet_reads_as_its_size() -> None:
    new = parse_drive("local-lvm:4")
    assert (new.storage, new.size) == ("local-lvm", 4 * GIB)
    grown = parse_drive("local-lvm:4,size=6G")
    assert grown.size == 6 * GIB


def test_drive_slots() -> None:
    assert drive_slot("scsi10") == ("scsi", 10)
    assert drive_slot("virtio0") == ("virtio", 0)
    assert drive_slot("net0") is None
    assert drive_slot("efidisk0") is None


def test_qemu_nics_split_model_and_mac() -> None:
    nic = parse_qemu_nic("virtio=BC:24:11:00:00:01,bridge=vmbr0,tag=10,firewall=1")
    assert nic == {"model": "virtio", "macaddr": "BC:24:11:00:00:01", "bridge": "vmbr0",
                   "tag": "10", "firewall": "1"}
    assert parse_qemu_nic("e1000,bridge=vmbr1") == {"model": "e1000", "bridge": "vmbr1"}
    assert format_qemu_nic(nic) == "virtio=BC:24:11:00:00:01,bridge=vmbr0,firewall=1,tag=10"
    assert parse_qemu_nic(format_qemu_nic(nic)) == nic


def test_a_nic_reads_in_the_stack_shape() -> None:
    props = parse_qemu_nic("virtio=BC:24:11:00:00:01,bridge=vmbr0,tag=10")
    assert read_nic(props, None, "macaddr") == {
        "network": None, "host_network": None, "bridge": "vmbr0", "mac": "bc:24:11:00:00:01",
        "ip": None, "model": "virtio", "vlan": 10, "firewall": False}
    as_declared = read_nic(props, {"host_network": "vnet1"}, "macaddr")
    assert as_declared["host_network"] == "vmbr0" and as_declared["bridge"] is None


def test_writing_a_nic_keeps_what_the_stack_leaves_unset() -> None:
    current = parse_qemu_nic("virtio=BC:24:11:00:00:01,bridge=vmbr0,tag=10,mtu=9000")
    nic = NicSpec(bridge="vmbr1", firewall=True)
    kept = write_nic(nic, current, "networks[0]", ["networks[0].bridge"], "macaddr")
    assert kept == {"model": "virtio", "macaddr": "BC:24:11:00:00:01", "bridge": "vmbr1",
                    "tag": "10", "mtu": "9000", "firewall": "1"}
    removed = write_nic(nic, current, "networks[0]", ["networks[0].vlan"], "macaddr")
    assert "tag" not in removed


def test_lxc_nics() -> None:
    nets = lxc_nets({"net0": "name=eth0,bridge=vmbr0,hwaddr=BC:24:11:00:00:02,ip=dhcp,tag=5"})
    assert nets[0]["hwaddr"] == "BC:24:11:00:00:02"
    assert format_lxc_nic({"bridge": "vmbr0", "name": "eth0", "ip": "dhcp"}) == \
        "name=eth0,bridge=vmbr0,ip=dhcp"
