"""The qemu provider's images as files: an image that still backs a guest's disk (of
any stack under the provider's directory) is not deleted."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from provisioner.core.address import Address, Kind
from provisioner.errors import ProviderError
from provisioner.providers.base import ProviderStats
from provisioner.providers.qemu.files import Tree
from provisioner.providers.qemu.images import Images
from provisioner.providers.qemu.ownership import Ownership


def test_an_image_that_backs_a_disk_is_not_deleted(tmp_path: Path) -> None:
    tree = Tree(tmp_path, "lab", "local")
    ownership = Ownership("lab", "local")
    images = Images(tree, ownership, ProviderStats(), tmp_path)
    address = Address(Kind.IMAGE, "base@local")
    tree.images.mkdir(parents=True)
    image = images.file("base", "qcow2")
    subprocess.run(["qemu-img", "create", "-q", "-f", "qcow2", str(image), "1M"], check=True)
    ownership.write(images.marker("base"), address, {"format": "qcow2"})
    [live], leftovers = images.inventory()
    assert leftovers == [] and live.address == address
    other = tmp_path / "other-stack" / "local" / "web"
    other.mkdir(parents=True)
    disk = other / "disk0.qcow2"
    subprocess.run(["qemu-img", "create", "-q", "-f", "qcow2", "-b", str(image), "-F", "qcow2",
                    str(disk)], check=True)
    with pytest.raises(ProviderError, match="the image backs disks that still exist"):
        images.delete(live)
    assert image.exists()
    disk.unlink()
    images.delete(live)
    assert not image.exists() and not tree.images.exists()
    images.delete(live)  # already gone: success
