"""Images on the vCenter simulator: a vmdk made in the test uploaded to a datastore over
the HTTP file API, a guest whose disk is a copy of it, a replacement when its checksum
changes, nothing left after destroy or a checksum mismatch.

What the simulator does not do (docs/providers/vsphere.md): its CopyVirtualDisk copies
a disk as a descriptor and a ``-flat.vmdk`` extent, the layout of the disks it makes
itself, where vSphere converts the uploaded hosted-sparse vmdk into a disk ESXi runs
from. ``_as_the_simulator_expects`` puts the (empty) extent it looks for next to the
uploaded image before a guest copies it; everything else is what the provider did.
"""

from __future__ import annotations

import hashlib
import shutil
import subprocess
from pathlib import Path

import pytest
from support.vcsim import Simulator
from vsphere_lab import Lab, actions, failures

from provisioner.apply.progress import CollectingProgress
from provisioner.errors import PlanError
from provisioner.plan.model import Action

pytestmark = pytest.mark.skipif(shutil.which("qemu-img") is None, reason="needs qemu-img")

IMAGE_ONLY = """
images:
  tiny:
    url: {url}
    checksum: {checksum}
    provider: vc
"""
WITH_GUEST = IMAGE_ONLY + """
guests:
  web:
    provider: vc
    image: tiny
    cpus: 1
    memory: 64MiB
    power: stopped
    disks: [ {{ size: 1GiB }} ]
    networks: [ {{ host_network: VM Network }} ]
"""
OWNER = "provisioner-images/lab.vc"


@pytest.fixture(autouse=True)
def _cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PROVISIONER_IMAGE_CACHE", str(tmp_path / "cache"))


def make_vmdk(directory: Path, name: str, fill: bytes, size: str = "16M") -> tuple[Path, str]:
    """A small monolithic-sparse vmdk whose first block holds ``fill``; its sha256."""
    raw = directory / f"{name}.raw"
    with raw.open("wb") as stream:
        stream.write(fill * 512)
    subprocess.run(["qemu-img", "resize", "-f", "raw", str(raw), size], check=True,
                   capture_output=True)
    vmdk = directory / f"{name}.vmdk"
    subprocess.run(["qemu-img", "convert", "-f", "raw", "-O", "vmdk", str(raw), str(vmdk)],
                   check=True, capture_output=True)
    return vmdk, "sha256:" + hashlib.sha256(vmdk.read_bytes()).hexdigest()


def datastore_root(simulator: Simulator, name: str = "LocalDS_0") -> Path:
    from pyVmomi import vim

    store = next(s for s in simulator.all(vim.Datastore) if s.name == name)
    return Path(store.info.url)


def image_files(simulator: Simulator) -> list[Path]:
    """Every file below the block's image folder, on every datastore."""
    found = []
    for name in ("LocalDS_0", "LocalDS_1"):
        folder = datastore_root(simulator, name) / OWNER
        found += [p for p in folder.rglob("*") if p.is_file()] if folder.exists() else []
    return sorted(found)


def _as_the_simulator_expects(simulator: Simulator) -> None:
    """The extent the simulator's CopyVirtualDisk copies with a descriptor (see above)."""
    for path in image_files(simulator):
        if path.suffix == ".vmdk" and not path.name.endswith("-flat.vmdk"):
            path.with_name(path.stem + "-flat.vmdk").touch()


def test_a_vmdk_is_uploaded_and_found_again(lab: Lab, vcsim: Simulator,
                                            tmp_path: Path) -> None:
    vmdk, checksum = make_vmdk(tmp_path, "tiny", b"A")
    body = IMAGE_ONLY.format(url=vmdk, checksum=checksum)
    plan, result = lab.apply(body)
    assert actions(plan) == {"images.tiny@vc": Action.CREATE}
    assert result.ok, failures(result)

    (uploaded,) = image_files(vcsim)
    digest = checksum.split(":")[1]
    assert uploaded == datastore_root(vcsim) / OWNER / "tiny" / f"sha256-{digest}.vmdk"
    assert uploaded.read_bytes() == vmdk.read_bytes()  # every byte, through the file API

    assert not lab.plan(body).has_changes  # the search finds it with its checksum


def test_a_guest_starts_from_a_copy_of_the_image(lab: Lab, vcsim_vpx: Simulator,
                                                 tmp_path: Path) -> None:
    vmdk, checksum = make_vmdk(tmp_path, "tiny", b"A")
    _, result = lab.apply(IMAGE_ONLY.format(url=vmdk, checksum=checksum))
    assert result.ok, failures(result)
    _as_the_simulator_expects(vcsim_vpx)

    body = WITH_GUEST.format(url=vmdk, checksum=checksum)
    plan, result = lab.apply(body)
    assert actions(plan) == {"guests.web": Action.CREATE}
    assert result.ok, failures(result)
    (disk,) = [d for d in vcsim_vpx.vm("web").config.hardware.device
               if type(d).__name__.endswith("VirtualDisk")]
    assert disk.backing.fileName == "[LocalDS_0] web/web_image0.vmdk"
    assert disk.capacityInBytes == 1024**3  # grown from the image's 16MiB
    copy = datastore_root(vcsim_vpx) / "web" / "web_image0.vmdk"
    assert copy.read_bytes() == vmdk.read_bytes()  # CopyVirtualDisk of the uploaded image

    assert not lab.plan(body).has_changes

    # new content, new checksum: the image is replaced, and the guest made from it too
    other, changed = make_vmdk(tmp_path, "tiny2", b"B")
    plan = lab.plan(WITH_GUEST.format(url=other, checksum=changed))
    assert actions(plan) == {"images.tiny@vc": Action.REPLACE, "guests.web": Action.REPLACE}

    result = lab.destroy(body)
    assert result.ok, failures(result)
    assert image_files(vcsim_vpx) == []
    assert "web" not in vcsim_vpx.vm_names()


def test_a_checksum_mismatch_leaves_nothing_on_the_datastore(lab: Lab, vcsim: Simulator,
                                                             tmp_path: Path) -> None:
    vmdk, _ = make_vmdk(tmp_path, "tiny", b"A")
    wrong = "sha256:" + "0" * 64
    with lab.engine(IMAGE_ONLY.format(url=vmdk, checksum=wrong)) as engine:
        try:
            plan = engine.plan()
        except PlanError as refused:  # known at plan time: nothing applied
            message = str(refused)
        else:
            result = engine.apply(plan, CollectingProgress(), 4)
            assert not result.ok
            message = " ".join(failures(result))
    assert "0000000000" in message, message
    assert image_files(vcsim) == []


def test_an_interrupted_upload_is_a_leftover_the_next_apply_deletes(
        lab: Lab, vcsim: Simulator, tmp_path: Path) -> None:
    vmdk, checksum = make_vmdk(tmp_path, "tiny", b"A")
    half = datastore_root(vcsim) / OWNER / "tiny"
    half.mkdir(parents=True)
    (half / "creating").touch()
    (half / ("sha256-" + "1" * 64 + ".vmdk")).write_bytes(b"KDMV half")
    plan, result = lab.apply(IMAGE_ONLY.format(url=vmdk, checksum=checksum))
    assert any(change.action is Action.DELETE for change in plan.changes), plan.changes
    assert result.ok, failures(result)
    digest = checksum.split(":")[1]
    assert [p.name for p in image_files(vcsim)] == [f"sha256-{digest}.vmdk"]


def test_an_image_the_stack_does_not_declare_is_refused(lab: Lab, vcsim_vpx: Simulator) -> None:
    with pytest.raises(PlanError) as refused:
        lab.plan("""
guests:
  web:
    provider: vc
    image: debian-12.vmdk
    cpus: 1
    memory: 64MiB
    disks: [ { size: 1GiB } ]
""")
    assert "guests.web: image 'debian-12.vmdk' names no image of the stack" in \
        str(refused.value)


def test_a_qcow2_image_is_refused_at_plan_time(lab: Lab, vcsim_vpx: Simulator,
                                               tmp_path: Path) -> None:
    qcow2 = tmp_path / "tiny.qcow2"
    subprocess.run(["qemu-img", "create", "-f", "qcow2", str(qcow2), "16M"], check=True,
                   capture_output=True)
    checksum = "sha256:" + hashlib.sha256(qcow2.read_bytes()).hexdigest()
    with pytest.raises(PlanError) as refused:
        lab.plan(IMAGE_ONLY.format(url=qcow2, checksum=checksum))
    assert "images.tiny@vc: format is qcow2: the vsphere provider imports vmdk" in \
        str(refused.value)
    assert image_files(vcsim_vpx) == []
