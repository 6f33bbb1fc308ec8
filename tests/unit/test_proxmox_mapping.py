"""Config ↔ spec mapping of the Proxmox provider: pure functions, no server.

A config read right after it was written must give back the spec (no perpetual
diff); a write carries only what differs; disks are matched by slot.
"""

from __future__ import annotations

from typing import Any

from provisioner.core.address import Address, Kind
from provisioner.core.resources import Effect, LiveObject
from provisioner.core.specs import DiskSpec, GuestSpec
from provisioner.providers.kit.marker import Marker
from provisioner.providers.proxmox.cluster import split_pending
from provisioner.providers.proxmox.guests import _changes, has_pending
from provisioner.providers.proxmox.ownership import (
    Ownership,
    notes_of,
    parse_marker,
    stack_of,
    user_tags,
)
from provisioner.providers.proxmox.props import GIB, MIB
from provisioner.providers.proxmox.qemu_read import read_guest
from provisioner.providers.proxmox.qemu_write import (
    assign_slots,
    config_changes,
    disk_work,
    same,
    wanted_config,
)
from provisioner.providers.proxmox.schema import GUEST_SCHEMA

OWNER = Ownership("lab", "pve")
WEB = Address(Kind.GUEST, "web")


def _spec(**fields: Any) -> dict[str, Any]:
    spec: dict[str, Any] = {
        "cpus": 2, "memory": 2 * GIB, "image": None, "clone": "debian-12", "node": "pve1",
        "disks": [{"size": 10 * GIB, "pool": None, "image": None, "volume": None,
                   "format": None, "bus": None, "slot": None}],
        "networks": [{"network": None, "host_network": None, "bridge": "vmbr0", "mac": None,
                      "ip": None, "model": None, "vlan": 20, "firewall": True}],
        "cloud_init": None, "power": "running", "autostart": True,
        "options": {"tags": ["web"], "cloud_init": {"user": "debian",
                                                    "ipconfig": ["ip=dhcp"]}},
    }
    spec.update(fields)
    return spec


def test_the_marker_round_trips_and_survives_notes_that_look_like_it() -> None:
    notes = "Web server.\nDo not edit <!-- this --> by hand."
    text = OWNER.description(notes, WEB, {"clone": "debian-12", "options": {
        "description": "a --> b"}})
    marker = parse_marker(text)
    assert marker == Marker("lab", "pve", WEB, {"clone": "debian-12",
                                                "options": {"description": "a --> b"}})
    assert notes_of(text) == notes
    assert parse_marker("just notes") is None
    assert parse_marker("<!-- provisioner:v1 {not json} -->") is None


def test_tags_name_the_stack() -> None:
    assert OWNER.tags(["web", "prod"]) == "prod;provisioner.lab;web"
    assert stack_of("prod;provisioner.lab;web") == "lab"
    assert stack_of("prod,web") is None
    assert user_tags("prod;provisioner.lab;web") == ["prod", "web"]


def test_storage_ids_carry_the_stack() -> None:
    assert OWNER.storage_id("images") == "lab_images"
    assert OWNER.pool_name("lab_images") == "images"
    assert OWNER.pool_name("other_images") is None


def test_slots() -> None:
    disks = [DiskSpec(), DiskSpec(slot="virtio1"), DiskSpec(bus="sata"), DiskSpec()]
    assert assign_slots(disks) == ["scsi0", "virtio1", "sata0", "scsi1"]
    # a clone's first undeclared-slot disks are the template's own, whatever their bus
    assert assign_slots([DiskSpec(), DiskSpec()], preferred=["virtio0"]) == ["virtio0", "scsi0"]
    # disks keep the slot they were given; a new one takes a free slot
    assert assign_slots([DiskSpec()] * 3, kept=["scsi0", "scsi3"], busy=["scsi1"]) == \
        ["scsi0", "scsi3", "scsi2"]


def _written(spec: dict[str, Any], slots: list[str], notes: dict[str, Any]) -> dict[str, Any]:
    """The config Proxmox would hold after a create with ``spec``."""
    applied = {**spec, "_pve": {"slots": slots, **notes}}
    description = OWNER.description("", WEB, applied)
    wanted = wanted_config(
        GuestSpec.of(spec), "web", OWNER.tags(spec["options"]["tags"]), description, {},
        None, lambda pool: pool or "local-lvm")
    config = {k: v for k, v in wanted.values.items() if v is not None}
    work = disk_work(GuestSpec.of(spec).disks, slots, {}, lambda pool, _i: pool or "local-lvm")
    config |= {slot: value for slot, value in work.new.items()}
    return config


def test_a_config_reads_back_as_the_spec_it_was_written_from() -> None:
    spec = _spec()
    config = _written(spec, ["scsi0"], {})
    marker = parse_marker(config["description"])
    assert marker is not None
    read = read_guest(config, "pve1", True, marker, lambda s: s, None, 105)
    for key in ("cpus", "memory", "clone", "node", "power", "autostart"):
        assert read[key] == spec[key], key
    assert read["disks"][0]["size"] == 10 * GIB and read["disks"][0]["slot"] == "scsi0"
    nic = read["networks"][0]
    assert (nic["bridge"], nic["vlan"], nic["firewall"]) == ("vmbr0", 20, True)
    assert read["options"]["tags"] == ["web"]
    assert read["options"]["cloud_init"]["user"] == "debian"
    assert read["options"]["cloud_init"]["ipconfig"] == ["ip=dhcp"]
    assert read["options"]["vmid"] == 105


def test_disks_are_read_by_slot_and_template_disks_are_not_reported() -> None:
    config = {"scsi0": "local-lvm:vm-1-disk-0,size=10G",
              "virtio1": "local-lvm:vm-1-disk-1,size=1G",
              "scsi1": "local-lvm:vm-1-disk-2,size=4G",
              "ide2": "local-lvm:vm-1-cloudinit,media=cdrom"}
    marker = Marker("lab", "pve", WEB, {"_pve": {"slots": ["scsi1", "scsi0"],
                                                 "template_slots": ["virtio1"]}})
    disks = read_guest(config, "pve1", False, marker, lambda s: s, None, 1)["disks"]
    assert [(d["slot"], d["size"]) for d in disks] == [("scsi1", 4 * GIB), ("scsi0", 10 * GIB)]
    extra = read_guest({**config, "sata3": "local-lvm:vm-1-disk-3,size=1G"}, "pve1", False,
                       marker, lambda s: s, None, 1)["disks"]
    assert [d["slot"] for d in extra] == ["scsi1", "scsi0", "sata3"], "an added disk shows"


def test_a_write_carries_only_what_differs() -> None:
    spec = _spec()
    current = {**_written(spec, ["scsi0"], {}), "memory": 2048, "cores": "2", "onboot": 1,
               "net0": "virtio=BC:24:11:00:00:01,firewall=1,tag=20,bridge=vmbr0"}
    wanted = wanted_config(
        GuestSpec.of(spec), "web", current["tags"], current["description"], current,
        [], lambda pool: pool or "local-lvm")
    assert not config_changes(wanted, current, []), "an equal config is written again"

    grown = _spec(memory=4 * GIB)
    wanted = wanted_config(
        GuestSpec.of(grown), "web", current["tags"], current["description"], current,
        ["memory"], lambda pool: pool or "local-lvm")
    change = config_changes(wanted, current, ["memory"])
    assert change.params() == {"memory": "4096"}


def test_an_unset_option_is_deleted_only_when_the_stack_removed_it() -> None:
    spec = _spec()
    current = {**_written(spec, ["scsi0"], {}), "balloon": "1024"}
    wanted = wanted_config(
        GuestSpec.of(spec), "web", current["tags"], current["description"], current,
        [], lambda pool: pool or "local-lvm")
    assert not config_changes(wanted, current, []), "a value set in the UI was deleted"
    changed = ["options.balloon"]
    wanted = wanted_config(
        GuestSpec.of(spec), "web", current["tags"], current["description"], current,
        changed, lambda pool: pool or "local-lvm")
    assert config_changes(wanted, current, changed).delete == ["balloon"]


def test_a_rewritten_nic_keeps_its_mac() -> None:
    spec = _spec()
    current = {**_written(spec, ["scsi0"], {}),
               "net0": "virtio=BC:24:11:00:00:01,bridge=vmbr0,firewall=1,tag=20"}
    moved = _spec(networks=[{**spec["networks"][0], "vlan": 30}])
    wanted = wanted_config(
        GuestSpec.of(moved), "web", current["tags"], current["description"], current,
        ["networks[0].vlan"], lambda pool: pool or "local-lvm")
    change = config_changes(wanted, current, ["networks[0].vlan"])
    assert change.set == {"net0": "virtio=BC:24:11:00:00:01,bridge=vmbr0,firewall=1,tag=30"}


def test_a_nic_flag_at_zero_is_the_nic_without_it() -> None:
    bare = "virtio=BC:24:11:00:00:01,bridge=vmbr0"
    assert same("net0", "virtio=bc:24:11:00:00:01,bridge=vmbr0,firewall=0", bare)
    assert same("net0", "name=eth0,bridge=vmbr0,hwaddr=BC:24:11:00:00:02,link_down=0",
                "hwaddr=bc:24:11:00:00:02,name=eth0,bridge=vmbr0")
    assert not same("net0", f"{bare},firewall=1", bare)
    assert not same("net0", "virtio=BC:24:11:00:00:01,bridge=vmbr1", bare)
    # a NIC read back without the key reads firewall: False; writing it adds nothing
    spec = _spec(networks=[{**_spec()["networks"][0], "vlan": None, "firewall": False}])
    current = {**_written(spec, ["scsi0"], {}), "net0": bare}
    wanted = wanted_config(
        GuestSpec.of(spec), "web", current["tags"], current["description"], current,
        None, lambda pool: pool or "local-lvm")
    assert wanted.values["net0"] == bare
    assert not config_changes(wanted, current, None)


def test_an_update_writes_only_the_keys_of_the_changed_fields() -> None:
    spec = _spec(options={"tags": ["web", "prod"], "balloon": 0})
    current = {**_written(_spec(), ["scsi0"], {}), "memory": 1024, "cores": "4",
               "net0": "virtio=BC:24:11:00:00:01,bridge=vmbr1"}
    wanted = wanted_config(
        GuestSpec.of(spec), "web", OWNER.tags(["web", "prod"]), current["description"],
        current, ["options.tags"], lambda pool: pool or "local-lvm")
    change = config_changes(wanted, current, ["options.tags"])
    assert change.params() == {"tags": "prod;provisioner.lab;web"}, \
        "an update wrote fields the plan did not list"


def test_disk_work_grows_and_adds_never_shrinks() -> None:
    current = {"scsi0": "local-lvm:vm-1-disk-0,size=10G"}
    disks = [DiskSpec(size=12 * GIB), DiskSpec(size=512 * MIB, pool="fast", format="qcow2")]
    work = disk_work(disks, ["scsi0", "scsi1"], current, lambda pool, _i: pool or "local-lvm")
    assert work.grow == {"scsi0": 12 * GIB}
    assert work.new == {"scsi1": "fast:0.5,format=qcow2"}
    smaller = disk_work([DiskSpec(size=8 * GIB)], ["scsi0"], current, lambda p, _i: "local-lvm")
    assert smaller.grow == {} and smaller.new == {}


def test_pending_values_are_split_from_current_ones() -> None:
    view = split_pending([
        {"key": "memory", "value": "1024", "pending": "2048"},
        {"key": "cores", "value": "2"},
        {"key": "balloon", "value": "512", "delete": 1},
        {"key": "net1", "pending": "virtio,bridge=vmbr1"},
    ])
    assert view.current == {"memory": "1024", "cores": "2", "balloon": "512"}
    assert view.effective == {"memory": "2048", "cores": "2", "net1": "virtio,bridge=vmbr1"}
    assert view.pending == {"memory", "balloon", "net1"}


def test_pending_paths_make_an_in_place_change_require_a_restart() -> None:
    found: dict[str, Any] = {}
    _changes("", {"memory": GIB, "networks": [{"vlan": 10}]},
             {"memory": 2 * GIB, "networks": [{"vlan": 20}]}, found)
    assert found == {"memory": 2 * GIB, "networks[0].vlan": 20}
    live = LiveObject(WEB, "pve", "web", "100", {}, attributes={"pending": found},
                      running=True)
    assert has_pending(live, "networks[0].vlan") and has_pending(live, "networks[0]")
    assert not has_pending(live, "cpus")
    refine = GUEST_SCHEMA.refine
    assert refine is not None
    assert refine("networks[0].vlan", 10, 20, live) is Effect.RESTART
    assert refine("autostart", False, True, live) is None
    stopped = LiveObject(WEB, "pve", "web", "100", {}, attributes={"pending": found},
                         running=False)
    assert refine("networks[0].vlan", 10, 20, stopped) is None
