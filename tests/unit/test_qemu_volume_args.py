"""Attached volumes on the qemu command line and at plan time: pure functions."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from provisioner.core.address import Address, Kind
from provisioner.core.resources import Resource
from provisioner.core.specs import GuestSpec
from provisioner.providers.qemu import QemuConfig
from provisioner.providers.qemu.checks import plan_checks
from provisioner.providers.qemu.command import DiskFile, command_line
from provisioner.providers.qemu.files import GuestFiles


def test_disks_keep_the_stacks_order_with_volumes_between(tmp_path: Path) -> None:
    guest = GuestSpec.of({"cpus": 1, "memory": 1 << 27, "disks": [
        {"size": 1 << 20}, {"volume": "data"}, {"size": 1 << 20}]})
    volume = DiskFile("vol1", tmp_path / ".volumes" / "data.img", "raw")
    argv = command_line(GuestFiles.at(tmp_path / "app"), guest, "tcg", None, (), {1: volume})
    devices = [argv[i + 1] for i, word in enumerate(argv) if word == "-device"]
    assert devices == ["virtio-blk-pci,drive=disk0,id=disk0-device",
                       "virtio-blk-pci,drive=vol1,id=vol1-device",
                       "virtio-blk-pci,drive=disk1,id=disk1-device"]
    assert f"driver=file,node-name=vol1-file,filename={volume.path}" in argv
    assert "driver=raw,node-name=vol1,file=vol1-file" in argv


def _resource(kind: Kind, name: str, spec: dict[str, Any]) -> Resource:
    return Resource(Address(kind, name), "local", spec)


def test_a_volume_is_attached_once_and_only_from_its_own_block(tmp_path: Path) -> None:
    resources = [
        _resource(Kind.VOLUME, "data", {"size": 1 << 20}),
        _resource(Kind.VOLUME, "far", {"size": 1 << 20, "pool": "ssd"}),
        _resource(Kind.GUEST, "a", {"memory": 1 << 27, "disks": [{"volume": "data"}]}),
        _resource(Kind.GUEST, "b", {"memory": 1 << 27,
                                    "disks": [{"volume": "data"}, {"volume": "elsewhere"}]}),
    ]
    problems = plan_checks(resources, QemuConfig(), "local", "true", lambda p: tmp_path / p,
                           lambda: "tcg")
    found = {(str(p.address), p.path): p.summary for p in problems if p.address}
    assert found == {
        ("volumes.far", "pool"): "is not supported: a qemu volume is a file in the "
                                 "provider's dir (the one pool is 'dir')",
        ("guests.b", "disks[0].volume"): "'data' is also attached to guests.a",
        ("guests.b", "disks[1].volume"): "'elsewhere' is another provider block's volume",
    }
