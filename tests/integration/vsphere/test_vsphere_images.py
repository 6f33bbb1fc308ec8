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
import re
import shutil
import subprocess
import tarfile
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
    disks: [ {{ size: 1GiB }}, {{ size: 2GiB, image: tiny, pool: LocalDS_1 }} ]
    networks: [ {{ host_network: VM Network }} ]
"""
OWNER = "provisioner-images/lab.vc"


@pytest.fixture(autouse=True)
def _cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PROVISIONER_IMAGE_CACHE", str(tmp_path / "cache"))
    # the image files are made beside the stack's directory: allowed as a runner would
    monkeypatch.setenv("PROVISIONER_ALLOW_PATHS", str(tmp_path))


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


@pytest.mark.simulator_only("reads the simulator's datastore files on this machine")
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

    with lab.engine(body) as engine:
        assert not engine.plan().has_changes  # the search finds it with its checksum
        (report,) = engine.stats()
    assert report.calls["list"] == 1 + 2  # the bulk read, a search of each datastore

    with lab.engine("guests: {}\n") as engine:  # no longer declared: still searched
        removed = engine.plan()
        (report,) = engine.stats()
    assert actions(removed) == {"images.tiny@vc": Action.DELETE}
    assert report.calls["list"] == 1 + 2


@pytest.mark.simulator_only("reads the simulator's datastore files on this machine")
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
    disks = [d for d in vcsim_vpx.vm("web").config.hardware.device
             if type(d).__name__.endswith("VirtualDisk")]
    assert [(d.backing.fileName, d.capacityInBytes) for d in disks] == [
        ("[LocalDS_0] web/web_image0.vmdk", 1024**3),  # grown from the image's 16MiB
        ("[LocalDS_1] web/web_image1.vmdk", 2 * 1024**3)]  # on the disk's pool
    for store, name in (("LocalDS_0", "web_image0.vmdk"), ("LocalDS_1", "web_image1.vmdk")):
        copy = datastore_root(vcsim_vpx, store) / "web" / name
        assert copy.read_bytes() == vmdk.read_bytes()  # CopyVirtualDisk of the upload

    assert not lab.plan(body).has_changes

    # new content, new checksum: the image is replaced, and the guest made from it too
    other, changed = make_vmdk(tmp_path, "tiny2", b"B")
    plan = lab.plan(WITH_GUEST.format(url=other, checksum=changed))
    assert actions(plan) == {"images.tiny@vc": Action.REPLACE, "guests.web": Action.REPLACE}

    result = lab.destroy(body)
    assert result.ok, failures(result)
    assert image_files(vcsim_vpx) == []
    assert "web" not in vcsim_vpx.vm_names()


@pytest.mark.simulator_only("reads the simulator's datastore files on this machine")
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


@pytest.mark.simulator_only(
    "puts a half upload on the simulator's datastore files on this machine")
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
    assert "images.tiny@vc: format is qcow2: the vsphere provider imports ova, vmdk" in \
        str(refused.value)
    assert image_files(vcsim_vpx) == []


OVF = """<?xml version="1.0" encoding="UTF-8"?>
<Envelope xmlns="http://schemas.dmtf.org/ovf/envelope/1"
  xmlns:ovf="http://schemas.dmtf.org/ovf/envelope/1"
  xmlns:rasd="http://schemas.dmtf.org/wbem/wscim/1/cim-schema/2/CIM_ResourceAllocationSettingData"
  xmlns:vssd="http://schemas.dmtf.org/wbem/wscim/1/cim-schema/2/CIM_VirtualSystemSettingData">
  <References>
    <File ovf:id="file1" ovf:href="disk1.vmdk" ovf:size="{size}"/>
  </References>
  <DiskSection>
    <Info>Virtual disks</Info>
    <Disk ovf:diskId="vmdisk1" ovf:fileRef="file1" ovf:capacity="{capacity}"
          ovf:capacityAllocationUnits="byte"
          ovf:format="http://www.vmware.com/interfaces/specifications/vmdk.html#streamOptimized"/>
  </DiskSection>
  <VirtualSystem ovf:id="appliance">
    <Info>A test appliance</Info>
    <OperatingSystemSection ovf:id="96" ovf:osType="debian10_64Guest">
      <Info>The guest OS</Info>
    </OperatingSystemSection>
    <VirtualHardwareSection>
      <Info>Hardware</Info>
      <System><vssd:VirtualSystemType>vmx-13</vssd:VirtualSystemType></System>
      <Item><rasd:ElementName>1 vCPU</rasd:ElementName><rasd:InstanceID>1</rasd:InstanceID>
        <rasd:ResourceType>3</rasd:ResourceType><rasd:VirtualQuantity>1</rasd:VirtualQuantity>
      </Item>
      <Item><rasd:ElementName>256MB</rasd:ElementName><rasd:InstanceID>2</rasd:InstanceID>
        <rasd:ResourceType>4</rasd:ResourceType><rasd:VirtualQuantity>256</rasd:VirtualQuantity>
      </Item>
      <Item><rasd:ElementName>SCSI</rasd:ElementName><rasd:InstanceID>3</rasd:InstanceID>
        <rasd:ResourceSubType>lsilogic</rasd:ResourceSubType>
        <rasd:ResourceType>6</rasd:ResourceType>
      </Item>
      <Item><rasd:ElementName>disk0</rasd:ElementName><rasd:InstanceID>4</rasd:InstanceID>
        <rasd:HostResource>ovf:/disk/vmdisk1</rasd:HostResource>
        <rasd:Parent>3</rasd:Parent><rasd:AddressOnParent>0</rasd:AddressOnParent>
        <rasd:ResourceType>17</rasd:ResourceType>
      </Item>
    </VirtualHardwareSection>
  </VirtualSystem>
</Envelope>
"""
OVA_IMAGE = """
images:
  appliance:
    url: {url}
    checksum: {checksum}
    format: ova
    provider: vc
"""
OVA_GUEST = OVA_IMAGE + """
guests:
  app:
    provider: vc
    image: appliance
    cpus: 1
    memory: 256MiB
    power: stopped
    disks: [ {{ size: 1GiB }} ]
"""


def make_ova(directory: Path) -> tuple[Path, str]:
    """An OVA: a descriptor and a streamOptimized vmdk of 16MiB, in a tar; its sha256."""
    raw = directory / "disk1.raw"
    raw.write_bytes(b"C" * 4096)
    subprocess.run(["qemu-img", "resize", "-f", "raw", str(raw), "16M"], check=True,
                   capture_output=True)
    disk = directory / "disk1.vmdk"
    subprocess.run(["qemu-img", "convert", "-f", "raw", "-O", "vmdk", "-o",
                    "subformat=streamOptimized", str(raw), str(disk)], check=True,
                   capture_output=True)
    descriptor = directory / "appliance.ovf"
    descriptor.write_text(OVF.format(size=disk.stat().st_size, capacity=16 * 1024**2),
                          encoding="utf-8")
    ova = directory / "appliance.ova"
    with tarfile.open(ova, "w", format=tarfile.USTAR_FORMAT) as archive:
        archive.add(descriptor, arcname="appliance.ovf")
        archive.add(disk, arcname="disk1.vmdk")
    return ova, "sha256:" + hashlib.sha256(ova.read_bytes()).hexdigest()


@pytest.mark.simulator_only("reads the simulator's log of the NFC upload")
def test_an_ova_is_deployed_as_a_template_guests_clone(lab: Lab, vcsim_vpx: Simulator,
                                                       tmp_path: Path) -> None:
    ova, checksum = make_ova(tmp_path)
    body = OVA_GUEST.format(url=ova, checksum=checksum)
    plan, result = lab.apply(body)
    assert actions(plan) == {"images.appliance@vc": Action.CREATE,
                             "guests.app": Action.CREATE}
    assert result.ok, failures(result)

    template = vcsim_vpx.vm("appliance")
    assert template.config.template
    assert template.config.guestId == "debian10_64Guest"  # from the descriptor
    extra = {o.key: o.value for o in template.config.extraConfig}
    assert not extra.get("provisioner.creating")
    # the simulator discards what the lease receives, and logs how much it was
    sent = (tmp_path / "disk1.vmdk").stat().st_size
    log = (vcsim_vpx.workdir / "vpx.log").read_text(encoding="utf-8", errors="replace")
    assert re.search(rf"nfc POST \S+/appliance/disk-0\.vmdk: transferred {sent} bytes", log)
    app = vcsim_vpx.vm("app")
    (disk,) = [d for d in app.config.hardware.device if type(d).__name__.endswith("VirtualDisk")]
    assert disk.capacityInBytes == 1024**3  # the template's 16MiB disk, grown

    assert not lab.plan(body).has_changes

    result = lab.destroy(body)
    assert result.ok, failures(result)
    assert {"appliance", "app"}.isdisjoint(vcsim_vpx.vm_names())


def test_an_ova_on_a_standalone_host_is_refused(lab: Lab, vcsim_esx: Simulator,
                                                tmp_path: Path) -> None:
    ova, checksum = make_ova(tmp_path)
    with pytest.raises(PlanError) as refused:
        lab.plan(OVA_IMAGE.format(url=ova, checksum=checksum))
    assert "images.appliance@vc: format ova needs a vCenter" in str(refused.value)
