"""Images on the real libvirtd: declared by URL (a server in the test process), fetched
once, verified, uploaded into the pool, and a guest booted from them sees their
content. A new checksum replaces the image before the guest is touched; a wrong one
changes nothing; an import killed half-way converges on the next apply."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from support.e2e import PROVISIONER, E2EStack, changes, describe, serial_log, wait_serial
from support.image_server import ImageServer, image_server
from support.images import PRINT_DISK, marked_image

from provisioner.plan.model import Action

STACK = """
images:
  im-base: {{ provider: kvm, url: "{url}", checksum: "{checksum}" }}
guests:
  im-web:
    provider: kvm
    memory: 128MiB
    image: im-base
    cloud_init: {{ user_data: boot.sh }}
    options: {{ BOOT_OPTIONS }}
"""


@pytest.fixture
def served(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[ImageServer]:
    monkeypatch.setenv("PROVISIONER_IMAGE_CACHE", str(tmp_path / "cache"))
    root = tmp_path / "www"
    root.mkdir()
    with image_server(root) as server:
        yield server


def _write(stack: E2EStack, served: ImageServer, name: str, checksum: str) -> None:
    stack.write_file("boot.sh", PRINT_DISK)
    stack.write(STACK.format(url=f"{served.url}/{name}", checksum=checksum))


def _volumes(conn: Any, stack: E2EStack) -> list[str]:
    pool = conn.storagePoolLookupByName("default")
    pool.refresh(0)
    return sorted(v.name() for v in pool.listAllVolumes() if v.name().startswith(stack.name))


def test_a_guest_boots_from_an_image_by_url_and_a_new_one_replaces_it_first(
        new_stack: Callable[..., E2EStack], served: ImageServer, conn: Any) -> None:
    stack = new_stack()
    first = marked_image(served.state.root, "v1.qcow2", "IMAGE-MARKER-v1")
    _write(stack, served, "v1.qcow2", first)
    stack.apply()
    wait_serial(serial_log(stack.live()["guests.im-web"]), r"^TINY: disk starts IMAGE-MARKER-v1$")
    hexdigest = first.removeprefix("sha256:")
    assert _volumes(conn, stack) == sorted([
        f"{stack.name}.kvm__im-base__image.qcow2",
        f"{stack.name}.kvm__im-base__image.sha256-{hexdigest}",
        f"{stack.name}.kvm__im-web__disk0.qcow2", f"{stack.name}.kvm__im-web__seed.iso"])
    assert changes(stack.plan()) == {}, "a clean re-plan"
    assert len(served.gets("v1.qcow2")) == 2  # the plan's 64 KiB, then the one download

    second = marked_image(served.state.root, "v2.qcow2", "IMAGE-MARKER-v2")
    _write(stack, served, "v2.qcow2", second)
    plan = stack.plan()
    assert {a: c.action for a, c in changes(plan).items()} == {
        "images.im-base@kvm": Action.REPLACE, "guests.im-web": Action.REPLACE}, describe(plan)
    stack.apply()
    wait_serial(serial_log(stack.live()["guests.im-web"]), r"^TINY: disk starts IMAGE-MARKER-v2$")
    images = [v for v in _volumes(conn, stack) if "__image" in v]
    assert images == sorted([f"{stack.name}.kvm__im-base.r1__image.qcow2",
                             f"{stack.name}.kvm__im-base.r1__image.sha256-"
                             f"{second.removeprefix('sha256:')}"])
    assert changes(stack.plan()) == {}
    stack.destroy()
    assert _volumes(conn, stack) == [], "destroy leaves nothing"


def test_a_wrong_checksum_imports_nothing_and_leaves_the_guest_alone(
        new_stack: Callable[..., E2EStack], served: ImageServer, conn: Any) -> None:
    stack = new_stack()
    first = marked_image(served.state.root, "v1.qcow2", "IMAGE-MARKER-v1")
    second = marked_image(served.state.root, "v2.qcow2", "IMAGE-MARKER-v2")
    _write(stack, served, "v1.qcow2", first)
    stack.apply()
    uuid = conn.lookupByName("im-web").UUIDString()
    before = _volumes(conn, stack)
    _write(stack, served, "v1.qcow2", second)  # a new checksum, the file unchanged
    done = stack.cli("apply", "--auto-approve")
    assert done.returncode != 0
    assert "is not the image the stack names" in done.stdout + done.stderr
    assert conn.lookupByName("im-web").UUIDString() == uuid, "the guest was replaced"
    assert _volumes(conn, stack) == before
    cached = sorted(p.name for p in Path(os.environ["PROVISIONER_IMAGE_CACHE"]).iterdir()
                    if not p.name.endswith((".lock", ".json")))
    assert cached == [f"sha256-{first.removeprefix('sha256:')}"]  # nothing under the new one
    stack.destroy()


@pytest.mark.parametrize("point", ["libvirt:image-volume:*", "libvirt:image-uploaded:*"])
def test_an_import_killed_half_way_converges(
        new_stack: Callable[..., E2EStack], served: ImageServer, conn: Any,
        point: str) -> None:
    stack = new_stack()
    checksum = marked_image(served.state.root, "v1.qcow2", "IMAGE-MARKER-v1")
    _write(stack, served, "v1.qcow2", checksum)
    env = dict(os.environ, PROVISIONER_TEST_KILL_AT=point)
    killed = subprocess.run([PROVISIONER, "apply", str(stack.directory), "--auto-approve"],
                            capture_output=True, text=True, env=env, timeout=300, check=False,
                            stdin=subprocess.DEVNULL)
    assert killed.returncode != 0
    assert f"{stack.name}.kvm__im-base__image.qcow2" in _volumes(conn, stack)
    plan = stack.plan()
    assert "left behind by an interrupted run" in describe(plan)
    stack.apply()
    images = [v for v in _volumes(conn, stack) if "__image" in v]
    assert len(images) == 2, images  # one image, one mark: no duplicate
    wait_serial(serial_log(stack.live()["guests.im-web"]), r"^TINY: disk starts IMAGE-MARKER-v1$")
    assert changes(stack.plan()) == {}
    stack.destroy()


def test_an_image_another_stacks_guest_is_made_from_is_not_destroyed(
        new_stack: Callable[..., E2EStack], served: ImageServer, conn: Any) -> None:
    owner, user = new_stack(), new_stack(suffix="-b")
    checksum = marked_image(served.state.root, "v1.qcow2", "IMAGE-MARKER-v1")
    _write(owner, served, "v1.qcow2", checksum)
    owner.apply()
    path = conn.storagePoolLookupByName("default").storageVolLookupByName(
        f"{owner.name}.kvm__im-base__image.qcow2").path()
    user.write(f"guests:\n  im-other: {{ provider: kvm, memory: 128MiB, image: {path}, "
               "options: { BOOT_OPTIONS } }\n")
    user.apply()
    refused = owner.cli("destroy", "--auto-approve")
    assert refused.returncode != 0
    assert "the image backs volumes that still exist" in refused.stdout + refused.stderr
    assert f"{user.name}.kvm__im-other__disk0.qcow2" in refused.stdout + refused.stderr
    assert any("__image.qcow2" in v for v in _volumes(conn, owner))
    user.destroy()
    owner.destroy()
    assert _volumes(conn, owner) == []
