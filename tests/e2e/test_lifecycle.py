"""Creating and deleting on the real daemon: removing one guest from a stack,
destroy, two provider blocks on one host, stack-owned pools, disks from a base
image (overlay and full copy)."""

from __future__ import annotations

import json
import subprocess
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import libvirt
import pytest
from support.e2e import E2E_CAPACITY, E2EStack, changes, describe, stack_objects, volume_xml

from provisioner.plan.model import Action
from provisioner.plan.planner import PlanOptions

MiB = 1024 * 1024

TWO_GUESTS = """
networks:
  rm-lab: { provider: kvm, mode: nat, cidr: 10.82.0.0/24 }
volumes:
  rm-shared: { provider: kvm, size: 64MiB, format: raw }
guests:
GUESTS
"""
GUEST = """  rm-{name}:
    provider: kvm
    memory: 128MiB
    disks: [ {{ size: 64MiB }}, {{ volume: rm-shared }} ]
    networks: [ {{ network: rm-lab }} ]
    cloud_init: {{ user_data: "#cloud-config\\n" }}
    options: {{ BOOT_OPTIONS }}
"""


def _guests(*names: str) -> str:
    return TWO_GUESTS.replace("GUESTS\n", "".join(GUEST.format(name=n) for n in names))


def test_removing_a_guest_deletes_it_and_its_disks_and_nothing_else(
        new_stack: Callable[..., E2EStack], conn: Any) -> None:
    stack = new_stack()
    stack.write(_guests("a", "b"))
    stack.apply()
    pool = conn.storagePoolLookupByName("default")
    own_b = {f"{stack.name}.kvm__rm-b__disk0.qcow2", f"{stack.name}.kvm__rm-b__seed.iso"}
    assert own_b <= set(pool.listVolumes())
    kept = {
        "rm-a": (conn.lookupByName("rm-a").UUIDString(), conn.lookupByName("rm-a").ID()),
        "network": conn.networkLookupByName("rm-lab").UUIDString(),
        "volume": pool.storageVolLookupByName(f"{stack.name}.kvm__rm-shared.img").key(),
        "rm-a disks": sorted(v for v in pool.listVolumes() if "__rm-a__" in v),
    }

    stack.write(_guests("a"))
    plan, _ = stack.apply()
    pending = changes(plan)
    assert list(pending) == ["guests.rm-b"], describe(plan)
    assert pending["guests.rm-b"].action is Action.DELETE
    with pytest.raises(libvirt.libvirtError):
        conn.lookupByName("rm-b")
    pool.refresh(0)
    assert not own_b & set(pool.listVolumes()), "rm-b's disk or seed is left"
    assert kept == {
        "rm-a": (conn.lookupByName("rm-a").UUIDString(), conn.lookupByName("rm-a").ID()),
        "network": conn.networkLookupByName("rm-lab").UUIDString(),
        "volume": pool.storageVolLookupByName(f"{stack.name}.kvm__rm-shared.img").key(),
        "rm-a disks": sorted(v for v in pool.listVolumes() if "__rm-a__" in v),
    }
    assert conn.lookupByName("rm-a").isActive()
    plan = stack.plan()
    assert not plan.has_changes, describe(plan)
    stack.destroy()


EVERY_KIND = """
pools:
  ds-pool: {{ provider: kvm, path: {pool} }}
networks:
  ds-lab: {{ provider: kvm, mode: nat, cidr: 10.86.0.0/24 }}
volumes:
  ds-data: {{ provider: kvm, pool: ds-pool, size: 64MiB }}
guests:
  ds-a:
    provider: kvm
    memory: 128MiB
    disks: [ {{ size: 64MiB, pool: ds-pool }}, {{ size: 64MiB }}, {{ volume: ds-data }} ]
    networks: [ {{ network: ds-lab, ip: 10.86.0.60 }} ]
    cloud_init: {{ user_data: "#cloud-config\\n" }}
    options: {{ BOOT_OPTIONS }}
"""


def test_destroy_leaves_nothing_of_the_stack_on_the_daemon(
        new_stack: Callable[..., E2EStack], conn: Any, tmp_path: Path) -> None:
    stack = new_stack()
    stack.write(EVERY_KIND.format(pool=tmp_path / "ds-pool"))
    stack.apply()
    pool, name = f"{stack.name}.kvm__ds-pool", f"{stack.name}.kvm"
    assert sorted(stack_objects(conn, stack.name)) == sorted([
        "domain ds-a", "network ds-lab", f"pool {pool}", f"volume {pool}/{name}__ds-data.qcow2",
        f"volume {pool}/{name}__ds-a__disk0.qcow2", f"volume {pool}/{name}__ds-a__seed.iso",
        f"volume default/{name}__ds-a__disk1.qcow2"])
    result = stack.cli("destroy", "--auto-approve")
    assert result.returncode == 0, result.stdout + result.stderr
    assert stack_objects(conn, stack.name) == []
    assert not (tmp_path / "ds-pool").exists(), "the emptied pool directory is left"
    shown = json.loads(stack.cli("show", "--json").stdout)
    assert shown["resources"] == [], shown["resources"]
    assert not stack.plan(PlanOptions(destroy=True)).has_changes


TWO_PROVIDERS = """  kvm-a: {{ type: libvirt, uri: "{uri}", capacity: {capacity} }}
  kvm-b: {{ type: libvirt, uri: "{uri}", capacity: {capacity} }}
"""
TWO_PROVIDER_GUESTS = """
volumes:
  two-va: { provider: kvm-a, size: 64MiB }
  two-vb: { provider: kvm-b, size: 64MiB }
guests:
  two-a: { provider: kvm-a, memory: 128MiB, disks: [ { size: 64MiB }, { volume: two-va } ],
           options: { BOOT_OPTIONS } }
  two-b: { provider: kvm-b, memory: 128MiB, disks: [ { size: 64MiB }, { volume: two-vb } ],
           options: { BOOT_OPTIONS } }
"""


def test_two_provider_blocks_on_one_host_each_see_only_their_own_guests(
        new_stack: Callable[..., E2EStack], conn: Any) -> None:
    stack = new_stack()
    stack.write(TWO_PROVIDER_GUESTS, providers=TWO_PROVIDERS.format(
        uri=stack.uri, capacity=E2E_CAPACITY))
    plan, _ = stack.apply()
    assert {a: c.provider for a, c in changes(plan).items()} == {
        "guests.two-a": "kvm-a", "guests.two-b": "kvm-b",
        "volumes.two-va": "kvm-a", "volumes.two-vb": "kvm-b"}
    assert conn.lookupByName("two-a").isActive() and conn.lookupByName("two-b").isActive()
    with stack.engine() as engine:
        listed = {name: sorted(str(o.address) for o in inventory.managed)
                  for name, inventory in engine.refresh().items()}
    # each block lists its own guest and volume, never the other's (no duplicates)
    assert listed == {"kvm-a": ["guests.two-a", "volumes.two-va"],
                      "kvm-b": ["guests.two-b", "volumes.two-vb"]}
    plan = stack.plan()
    assert not plan.has_changes, describe(plan)
    result = stack.cli("plan", "--detailed-exitcode")
    assert result.returncode == 0, result.stdout + result.stderr
    stack.destroy()


POOLS = """
pools:
  pl-store: {{ provider: kvm, path: {path} }}
volumes:
  pl-vol: {{ provider: kvm, pool: pl-store, size: 64MiB }}
guests:
  pl-a:
    provider: kvm
    memory: 128MiB
    disks: [ {{ size: 64MiB, pool: pl-store }} ]
    options: {{ BOOT_OPTIONS }}
"""


def test_a_stack_pool_holds_its_volumes_and_goes_with_the_stack(
        new_stack: Callable[..., E2EStack], conn: Any, tmp_path: Path) -> None:
    stack = new_stack()
    path = tmp_path / "pl-store"
    stack.write(POOLS.format(path=path))
    stack.apply()
    pool = conn.storagePoolLookupByName(f"{stack.name}.kvm__pl-store")
    assert pool.isActive() and pool.autostart()
    assert sorted(pool.listVolumes()) == [f"{stack.name}.kvm__pl-a__disk0.qcow2",
                                          f"{stack.name}.kvm__pl-vol.qcow2"]
    assert sorted(p.name for p in path.iterdir()) == sorted(pool.listVolumes())
    plan = stack.plan()
    assert not plan.has_changes, describe(plan)
    stack.destroy()
    assert f"{stack.name}.kvm__pl-store" not in conn.listStoragePools() + \
        conn.listDefinedStoragePools(), "the pool is still defined"
    assert not path.exists()


@pytest.fixture
def base_image(conn: Any, tmp_path: Path) -> Iterator[str]:
    """A 64MiB qcow2 uploaded into the default pool as ``e2e-base-XXXX.qcow2``."""
    name = f"e2e-base-{uuid.uuid4().hex[:8]}"
    file = tmp_path / "base.qcow2"
    subprocess.run(["qemu-img", "create", "-q", "-f", "qcow2", str(file), "64M"], check=True)
    data = file.read_bytes()
    pool = conn.storagePoolLookupByName("default")
    volume = pool.createXML(f"<volume><name>{name}.qcow2</name><capacity unit='bytes'>"
                            f"{len(data)}</capacity><target><format type='qcow2'/></target>"
                            "</volume>", 0)
    try:
        stream = conn.newStream(0)
        volume.upload(stream, 0, len(data), 0)
        stream.send(data)
        stream.finish()
        pool.refresh(0)
        yield name
    finally:
        pool.storageVolLookupByName(f"{name}.qcow2").delete(0)


IMAGES = """
guests:
  img-overlay:
    provider: kvm
    memory: 128MiB
    image: IMAGE
    options: { BOOT_OPTIONS }
  img-copy:
    provider: kvm
    memory: 128MiB
    disks: [ { size: 128MiB, image: IMAGE } ]
    options: { BOOT_OPTIONS, image_mode: copy }
"""


def test_disks_from_a_base_image_as_overlay_and_as_full_copy(
        base_image: str, new_stack: Callable[..., E2EStack], conn: Any) -> None:
    stack = new_stack()
    stack.write(IMAGES.replace("IMAGE", base_image))
    stack.apply()
    base_path = volume_xml(conn, "default", f"{base_image}.qcow2").findtext("target/path")
    overlay = volume_xml(conn, "default", f"{stack.name}.kvm__img-overlay__disk0.qcow2")
    assert overlay.findtext("backingStore/path") == base_path
    assert int(overlay.findtext("capacity") or 0) == 64 * MiB  # the image's size
    copy = volume_xml(conn, "default", f"{stack.name}.kvm__img-copy__disk0.qcow2")
    assert copy.findtext("backingStore/path") is None, "image_mode copy made an overlay"
    assert copy.find("target/format").get("type") == "qcow2"
    assert int(copy.findtext("capacity") or 0) == 128 * MiB
    assert conn.lookupByName("img-overlay").isActive() and conn.lookupByName("img-copy").isActive()
    plan = stack.plan()
    assert not plan.has_changes, describe(plan)
    stack.destroy()
