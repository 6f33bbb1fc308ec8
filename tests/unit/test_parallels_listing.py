"""Golden tests of the prlctl JSON parser against transcripts
(tests/unit/parallels_transcripts, README there names the Parallels Desktop version
of each), and of what the planner then sees."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from provisioner.core.address import Address
from provisioner.providers.parallels.inventory import stack_of
from provisioner.providers.parallels.listing import (
    MIB,
    json_in,
    mac_of,
    parse_networks,
    parse_vms,
    size_of,
)
from provisioner.providers.parallels.ownership import (
    CREATING_PREFIX,
    OWNER_PREFIX,
    marker_in,
    stack_of_home,
    with_line,
)
from provisioner.providers.parallels.read import live_object

TRANSCRIPTS = Path(__file__).parent / "parallels_transcripts"


def _json(name: str) -> object:
    return json_in((TRANSCRIPTS / name).read_text(encoding="utf-8"))


def test_list_info_20_reads_what_the_diff_needs() -> None:
    web, windows = parse_vms(_json("list-info-20.json"))
    assert (web.name, web.uuid, web.state, web.os, web.cpus, web.memory, web.autostart) == (
        "web-0", "3f1c9a2e-5b7d-4e0a-9c61-2d8f4a7b9e10", "running", "debian", 2,
        2048 * MIB, True)
    assert web.home == "/Users/ana/Parallels/provisioner-lab/web-0.pvm/"
    assert [(d.index, d.size, d.image.rsplit("/", 1)[1]) for d in web.disks] == [
        (0, 8192 * MIB, "harddisk.hdd"), (1, 16384 * MIB, "harddisk1.hdd")]
    assert [(c.index, c.image.rsplit("/", 1)[-1], c.connected) for c in web.cdroms] == [
        (0, "", False), (1, "cidata.iso", True)]
    # a disabled adapter (net2) is not one the guest has
    assert [(n.index, n.type, n.iface, n.mac, n.card) for n in web.nics] == [
        (0, "shared", None, "00:1c:42:35:af:ae", "virtio"),
        (1, "host", "pd-lab", "00:1c:42:ec:00:68", "virtio")]
    assert windows.uuid == "de22df32-80e2-4e92-ba4b-efb3a66cf092"  # braces dropped
    assert (windows.state, windows.running, windows.memory) == ("stopped", False, 8192 * MIB)
    assert [n.type for n in windows.nics] == ["bridged"]


def test_the_planner_sees_sizes_networks_the_seed_and_the_memo() -> None:
    web = parse_vms(_json("list-info-20.json"))[0]
    marker = marker_in(web.description)
    assert marker is not None and marker.address == Address.parse("guests.web-0")
    live = live_object(web, marker, "mac")
    assert live.spec["memory"] == 2 * 1024 * MIB
    assert [disk["size"] for disk in live.spec["disks"]] == [8192 * MIB, 16384 * MIB]
    assert [(n["host_network"], n["bridge"], n["model"]) for n in live.spec["networks"]] == [
        ("shared", None, "virtio"), ("host:pd-lab", None, "virtio")]
    assert live.spec["cloud_init"]["user_data"].label == "web.cloud.yaml"
    assert (live.spec["power"], live.spec["autostart"]) == ("running", True)
    assert live.spec["options"] == {"distribution": "debian"}
    assert live.attributes["seed"].endswith("/web-0.pvm/cidata.iso")


def test_list_info_12_without_description_sizes_or_ports_still_reads() -> None:
    (vm,) = parse_vms(_json("list-info-12.json"))
    assert (vm.name, vm.description, vm.cpus, vm.memory) == ("VM_Name", "", 1, 512 * MIB)
    assert [(d.index, d.size, d.port) for d in vm.disks] == [(0, 0, "")]
    assert [(n.type, n.iface) for n in vm.nics] == [("shared", None), ("bridged", "vnic2")]
    assert stack_of(vm) is None


def test_text_before_the_json_is_skipped() -> None:
    (vm,) = parse_vms(_json("notice-then-json.txt"))
    assert (vm.name, vm.state, vm.running) == ("scratch", "suspended", False)


def test_networks_of_net_list_20() -> None:
    networks = parse_networks(_json("net-list-20.json"))
    assert [(n.id, n.type, n.bound_to) for n in networks] == [
        ("Shared", "shared", "vnic0"), ("Host-Only", "host-only", "vnic1"),
        ("pd-lab", "host-only", "vnic2"), ("Default", "bridged", "en0")]


@pytest.mark.parametrize(("text", "size"), [("2048Mb", 2048 * MIB), ("64Gb", 65536 * MIB),
                                            ("1024", 1024 * MIB), ("", 0), ("auto", 0)])
def test_sizes(text: str, size: int) -> None:
    assert size_of(text) == size


def test_macs_and_the_stack_of_a_bundle() -> None:
    assert mac_of("001C42B4B074") == "00:1c:42:b4:b0:74"
    assert stack_of_home("/Users/ana/Parallels/provisioner-lab/web-0.pvm/") == "lab"
    assert stack_of_home("/Users/ana/Parallels/web-0.pvm/") is None


def test_the_marker_line_keeps_what_people_wrote_around_it() -> None:
    web = parse_vms(_json("list-info-20.json"))[0]
    marker = marker_in(web.description)
    assert marker is not None
    creating = with_line(web.description, CREATING_PREFIX, marker)
    assert marker_in(creating, CREATING_PREFIX) == marker
    dropped = with_line(creating, OWNER_PREFIX, None)
    assert dropped.splitlines()[0] == "made by provisioner"
    assert marker_in(dropped) is None and marker_in(dropped, CREATING_PREFIX) == marker
    assert json.loads(dropped.splitlines()[1][len(CREATING_PREFIX):])["stack"] == "lab"
