"""Golden tests of the VBoxManage parser against transcripts (tests/unit/vbox_transcripts,
README there names the VirtualBox version of each)."""

from __future__ import annotations

from pathlib import Path

from provisioner.core.address import Address, Kind
from provisioner.providers.kit.marker import Marker
from provisioner.providers.virtualbox.listing import (
    MIB,
    extradata,
    key_values,
    machine_readable,
    parse_hdds,
    parse_vms,
)
from provisioner.providers.virtualbox.ownership import decode, marker_in, stack_of_groups
from provisioner.providers.virtualbox.read import live_object

TRANSCRIPTS = Path(__file__).parent / "vbox_transcripts"


def _read(name: str) -> str:
    return (TRANSCRIPTS / name).read_text(encoding="utf-8")


def test_list_long_vms_7_0_splits_each_vm_and_reads_what_the_diff_needs() -> None:
    web, desktop = parse_vms(_read("list-l-vms-7.0.txt"))
    assert (web.name, web.uuid, web.groups) == (
        "web-0", "3f1c9a2e-5b7d-4e0a-9c61-2d8f4a7b9e10", ("/provisioner-lab",))
    assert (web.cpus, web.memory, web.firmware, web.state, web.autostart) == (
        2, 2048 * MIB, "efi", "running", True)
    assert web.config_file == "/home/ana/VirtualBox VMs/web-0/web-0.vbox"
    assert [(a.controller, a.port, a.location.rsplit("/", 1)[1]) for a in web.attachments] == [
        ("SATA", 0, "web-0-disk0.vdi"), ("SATA", 1, "web-0-disk1.vdi"), ("SATA", 29, "cidata.iso")]
    nat, lab = web.nics
    assert (nat.slot, nat.mac, nat.attachment, nat.target, nat.type) == (
        1, "08:00:27:d3:f3:68", "nat", None, "82540EM")
    assert [(f.name, f.protocol, f.host_ip, f.host_port, f.guest_port) for f in nat.forwards] \
        == [("tcp2222", "tcp", "127.0.0.1", 2222, 22)]
    assert (lab.attachment, lab.target, lab.type, lab.mac) == (
        "intnet", "lab", "virtio", "02:16:3e:00:12:34")
    # a shared folder's "Name: 'x'" line does not start a VM
    assert desktop.name == "win-desktop"
    assert (desktop.cpus, desktop.memory, desktop.state) == (4, 4096 * MIB, "poweroff")
    assert [(n.attachment, n.target) for n in desktop.nics] == [
        ("bridged", "Intel(R) Wi-Fi 6E AX211 160MHz"), ("hostonly", "vboxnet0")]
    # an empty port is no attachment; the snapshot's indented Name does not start a VM
    assert [(a.controller, a.port) for a in desktop.attachments] == [("SATA", 0)]


def test_showvminfo_7_1_reads_the_same_keys_and_hot_pluggable_ports() -> None:
    (vm,) = parse_vms(_read("showvminfo-7.1.txt"))
    assert (vm.name, vm.state, vm.cpus) == ("centos10-server1", "saved", 1)
    assert [(a.port, a.uuid) for a in vm.attachments] == [
        (0, "51d7a839-95a3-41b4-bc34-ceb8f5aa0353"),
        (1, "ca420a16-9b9e-4741-ab50-1527de3edc2e")]
    assert vm.nics[0].target == "wlp4s0"


def test_showvminfo_6_1_storage_lines_are_read_too() -> None:
    (vm,) = parse_vms(_read("showvminfo-6.1.txt"))
    assert vm.controllers == {"SATA": ""}
    assert [(a.controller, a.port, a.uuid, a.location) for a in vm.attachments] == [
        ("SATA", 0, "4973af85-5e20-43c2-b630-73084cc5191f",
         "/home/u/VirtualBox VMs/ubuntu-old/ubuntu-old.vdi")]
    assert vm.memory == 1024 * MIB


def test_list_long_hdds_gives_sizes_formats_and_users() -> None:
    disk0, disk1, stale = parse_hdds(_read("list-l-hdds-7.0.txt"))
    assert (disk0.capacity, disk0.format, disk0.in_use_by) == (10240 * MIB, "VDI", ("web-0",))
    assert disk1.capacity == 1024 * MIB
    assert (stale.format, stale.in_use_by, stale.capacity) == ("VMDK", (), 0)


def test_hostinfo_extradata_and_machine_readable() -> None:
    host = key_values(_read("hostinfo-7.0.txt"))
    assert (host["Processor online count"], host["Memory size"], host["Memory available"]) == (
        "8", "15924 MByte", "8071 MByte")
    extra = extradata(_read("getextradata-7.0.txt"))
    assert extra["GUI/LastCloseAction"] == "PowerOff"
    marker = marker_in(extra)
    assert marker == Marker("lab", "vbox", Address(Kind.GUEST, "web-0"), {"ostype": "Debian_64"})
    assert machine_readable(_read("machinereadable-7.0.txt"))["VMState"] == "poweroff"


def test_a_transcript_vm_reads_back_as_the_planner_sees_it() -> None:
    web, desktop = parse_vms(_read("list-l-vms-7.0.txt"))
    media = {m.uuid: m for m in parse_hdds(_read("list-l-hdds-7.0.txt"))}
    marker = decode('{"address":"guests.web-0","memo":{"ostype":"Debian_64","seed":{}},'
                    '"provider":"vbox","stack":"lab"}')
    assert marker is not None
    live = live_object(web, media, marker, "vbox")
    assert [d["size"] for d in live.spec["disks"]] == [10240 * MIB, 1024 * MIB]
    assert live.spec["networks"][0]["forwards"] == [
        {"host": 2222, "guest": 22, "protocol": "tcp", "address": "127.0.0.1"}]
    assert live.spec["networks"][1]["host_network"] == "intnet:lab"
    assert live.spec["networks"][1]["model"] == "virtio"
    assert live.spec["options"] == {"ostype": "Debian_64", "firmware": "efi",
                                    "disk_format": "vdi"}
    assert live.spec["cloud_init"] == {"user_data": None, "meta_data": None,
                                       "network_config": None}
    assert (live.running, live.spec["power"]) == (True, "running")
    assert stack_of_groups(web.groups) == "lab"
    assert stack_of_groups(desktop.groups) is None
