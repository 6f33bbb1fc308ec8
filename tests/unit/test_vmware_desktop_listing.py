"""Golden tests of the vmware-desktop bulk read against transcripts
(tests/unit/vmware_desktop_transcripts; its README names each one's product version)."""

from __future__ import annotations

from pathlib import Path

from provisioner.core.address import Address, Kind
from provisioner.providers.kit.marker import Marker
from provisioner.providers.vmware_desktop.listing import (
    VmFolder,
    descriptor_size,
    parse_dump,
    parse_list,
)
from provisioner.providers.vmware_desktop.ownership import marker_in
from provisioner.providers.vmware_desktop.read import disks_of, live_object
from provisioner.providers.vmware_desktop.vmx import Vmx

TRANSCRIPTS = Path(__file__).parent / "vmware_desktop_transcripts"
GIB = 1024**3


def _read(name: str) -> str:
    return (TRANSCRIPTS / name).read_bytes().decode("utf-8", "replace")


def _marker() -> Marker:
    return Marker("lab", "desk", Address(Kind.GUEST, "web"))


def test_vmrun_list_names_every_running_vmx_spaces_and_all() -> None:
    assert parse_list(_read("vmrun-list-17.5.txt")) == [
        "/home/ana/vmware/web/web.vmx", "/home/ana/vmware/Windows 11/Windows 11.vmx"]
    assert parse_list(_read("vmrun-list-empty-17.5.txt")) == []


def test_a_descriptor_gives_the_virtual_size_of_every_extent() -> None:
    assert descriptor_size(_read("split-descriptor.vmdk")) == 4 * GIB
    assert descriptor_size("KDMV\x01binary grain data") is None


def test_the_dump_holds_the_vm_and_the_sizes_of_its_disks_text_or_binary() -> None:
    (vm,) = parse_dump(_read("dump-all.txt"), ["/home/ana/vmware/web/web.vmx"])
    assert (vm.name, vm.path, vm.running) == ("web", "/home/ana/vmware/web/web.vmx", True)
    assert vm.disk_sizes == {"/home/ana/vmware/web/web.vmdk": 16 * GIB,
                             "/home/ana/vmware/web/web-data.vmdk": 4 * GIB}
    live = live_object(vm, _marker(), "desk")
    assert [disk["size"] for disk in live.spec["disks"]] == [16 * GIB, 4 * GIB]
    assert live.spec["power"] == "running"


def test_a_workstation_vmx_reads_as_the_planner_compares_it() -> None:
    vm = VmFolder("/home/ana/vmware/debian12/debian12.vmx",
                  Vmx.parse(_read("workstation-17.5.vmx")),
                  disk_sizes={"/home/ana/vmware/debian12/debian12.vmdk": 20 * GIB})
    assert disks_of(vm) == [("scsi", 0, "debian12.vmdk"), ("scsi", 1, "/home/ana/disks/data.vmdk")]
    live = live_object(vm, _marker(), "desk")
    spec = live.spec
    assert (spec["cpus"], spec["memory"], spec["power"]) == (2, 2 * GIB, "stopped")
    assert [disk["size"] for disk in spec["disks"]] == [20 * GIB, 0]  # data.vmdk: elsewhere
    assert [(n["host_network"], n["mac"], n["model"]) for n in spec["networks"]] == [
        ("nat", "00:0c:29:b2:c3:d4", "vmxnet3"), ("vmnet2", "00:50:56:3a:01:02", "e1000e")]
    assert spec["options"] == {"guest_os": "debian12-64", "firmware": "efi",
                               "disk_bus": "scsi", "hardware_version": 21}
    assert spec["cloud_init"] is None
    assert live.attributes["macs"] == ["00:0c:29:b2:c3:d4", "00:50:56:3a:01:02"]


def test_a_suspended_fusion_vm_with_our_marker() -> None:
    vmx = Vmx.parse(_read("fusion-13.5.vmx"))
    marker = marker_in(vmx)
    assert marker == Marker("lab", "desk", Address(Kind.GUEST, "ubuntu"), {"disk_bus": "sata"})
    vm = VmFolder("/Users/ana/Virtual Machines.localized/ubuntu.vmwarevm/ubuntu.vmx", vmx)
    live = live_object(vm, marker, "desk")
    assert live.spec["power"] == "suspended"
    assert disks_of(vm) == [("sata", 0, "data.vmdk")]  # nvme disks are not this provider's
    assert live.spec["networks"][0]["host_network"] == "vmnet3"
