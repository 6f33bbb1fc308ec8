"""Typed spec views (core/specs.py) read every field a loaded resource has, and the
provider's options model takes a resolved spec's options back."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import pytest

from provisioner.apply.hooks import for_provider
from provisioner.core.address import Kind
from provisioner.core.resources import Resource
from provisioner.core.specs import (
    ContainerSpec,
    GuestSpec,
    ImageSpec,
    NetworkSpec,
    PoolSpec,
    VolumeSpec,
)
from provisioner.stack.loader import load_stack
from provisioner.stack.secrets import Secrets

ROOT = Path(__file__).resolve().parents[2]
VIEWS = {Kind.GUEST: GuestSpec, Kind.CONTAINER: ContainerSpec, Kind.NETWORK: NetworkSpec,
         Kind.VOLUME: VolumeSpec, Kind.POOL: PoolSpec, Kind.IMAGE: ImageSpec}
STACKS = sorted(p for p in (ROOT / "stacks").iterdir() if p.is_dir())


def _resources(path: Path) -> list[tuple[Resource, Any]]:
    """Each resource as providers see it (without the engine's hook digests) with its
    provider's plugin (None on a placement group: its options are the group's members'
    to read)."""
    stack = load_stack(path, secrets=Secrets.NONE)
    return [(for_provider(r),
             stack.providers[r.provider].plugin if r.provider in stack.providers else None)
            for r in stack.resources]


def _plain_fields(view: Any) -> dict[str, Any]:
    return {f.name: getattr(view, f.name) for f in dataclasses.fields(view)}


@pytest.mark.parametrize("path", STACKS, ids=lambda p: p.name)
def test_every_spec_key_is_a_field_of_its_view(path: Path) -> None:
    """A field added to the stack's models without one in its view fails here."""
    for resource, _ in _resources(path):
        view = VIEWS[resource.kind].of(resource.spec)
        assert set(resource.spec) <= set(_plain_fields(view)), resource.address


@pytest.mark.parametrize("path", STACKS, ids=lambda p: p.name)
def test_views_hold_the_spec_values_and_options_read_back_into_the_provider_model(
        path: Path) -> None:
    for resource, plugin in _resources(path):
        view = VIEWS[resource.kind].of(resource.spec)
        for key, value in resource.spec.items():
            if key in ("disks", "networks", "mounts", "rootfs", "cloud_init", "dhcp_range",
                       "options") or value is None:
                continue
            assert getattr(view, key) == value, (resource.address, key)
        model = plugin.options_models.get(resource.kind) if plugin else None
        if model is not None:
            options = view.options_as(model)
            assert options.model_dump(exclude_defaults=True) == dict(resource.spec["options"])


def test_a_guest_view_of_a_partial_live_spec_uses_defaults() -> None:
    guest = GuestSpec.of({"memory": 1 << 30, "disks": [None, {"size": 5}],
                          "networks": [{"bridge": "br0", "vlan": 10, "firewall": False}]})
    assert (guest.cpus, guest.memory, guest.running, guest.autostart) == (1, 1 << 30, True, False)
    assert [d.size for d in guest.disks] == [5]
    (nic,) = guest.networks
    assert (nic.attachment, nic.vlan, nic.firewall, nic.mac) == ("br0", 10, False, None)
    assert guest.options == {} and guest.cloud_init is None


def test_nested_views_are_typed() -> None:
    guest = GuestSpec.of({"disks": [{"volume": "data"}, {"size": 1 << 30, "bus": "scsi"}],
                          "power": "stopped"})
    assert [d.attached for d in guest.disks] == [True, False]
    assert guest.own_disks == (guest.disks[1],) and not guest.running
    network = NetworkSpec.of({"mode": "isolated", "cidr": "10.0.0.0/24",
                              "dhcp_range": {"start": "10.0.0.10", "end": "10.0.0.20"}})
    assert network.dhcp_range is not None and network.dhcp_range.end == "10.0.0.20"


def test_options_of_a_live_object_are_read_whatever_it_holds() -> None:
    """A live object's options may hold what a stack could not write (an admin's long
    notes, a key an older version stored): the view reads them, never fails."""
    from provisioner.providers.vsphere import GuestOptions

    live = GuestSpec.of({"options": {"notes": "x" * 5000, "gone_key": 1, "cpu_hot_add": True}})
    options = live.options_as(GuestOptions)
    assert options.notes == "x" * 5000 and options.cpu_hot_add is True
    assert options.disk_provisioning == "thin"  # defaults filled in
    declared = GuestSpec.of({"options": {"notes": "short", "gone_key": 1}})
    assert declared.options_as(GuestOptions).notes == "short"


def test_a_refused_live_value_leaves_the_other_options_typed() -> None:
    """Proxmox reports no sockets (None) where a stack could not write one: that value is
    kept as it is, and the nested cloud-init options are still a model."""
    from provisioner.providers.proxmox import CloudInitOptions
    from provisioner.providers.proxmox import GuestOptions as PveOptions

    live = GuestSpec.of({"options": {"sockets": None, "cloud_init": {"user": "admin"}}})
    options = live.options_as(PveOptions)
    assert options.sockets is None
    assert isinstance(options.cloud_init, CloudInitOptions)
    assert options.cloud_init.user == "admin"


def test_a_live_objects_empty_slots_keep_the_indexes_of_the_others() -> None:
    """``networks``/``disks``/``mounts`` drop a live object's empty slot (None); the
    indexed fields keep each item's place, so that item N is written to slot N."""
    guest = GuestSpec.of({"disks": [None, {"size": 5, "slot": "scsi1"}],
                          "networks": [None, None, {"bridge": "br0"}]})
    assert [(i, d.slot) for i, d in guest.indexed_disks] == [(1, "scsi1")]
    assert [(i, n.bridge) for i, n in guest.indexed_networks] == [(2, "br0")]
    box = ContainerSpec.of({"mounts": [None, {"path": "/srv", "size": 1}],
                            "networks": [{"bridge": "br1"}]})
    assert box.mount_slots == 2 and len(box.mounts) == 1
    assert [(i, n.bridge) for i, n in box.indexed_networks] == [(0, "br1")]
