"""The vSphere provider's image logic that needs no server: where images live on a
datastore and how a search's answer is read back, what an OVA holds, and the disk a
guest attaches from an image's copy."""

from __future__ import annotations

import io
import tarfile
from pathlib import Path

import pytest

from provisioner.core.address import Address, Kind, image_object_name
from provisioner.core.resources import Resource
from provisioner.providers.vsphere import imagepaths as paths
from provisioner.providers.vsphere.ova import OvaError, open_member, read_ova

pytestmark = pytest.mark.unit

SHA = "ab" * 32
OWNER = "provisioner-images/lab.vc"


def test_an_image_file_is_named_by_its_checksum_and_read_back() -> None:
    name = paths.file_name(f"sha256:{SHA.upper()}", "vmdk")
    assert name == f"sha256-{SHA}.vmdk"
    assert paths.checksum_of(name) == (f"sha256:{SHA}", "vmdk")
    assert paths.checksum_of("creating") is None
    assert paths.checksum_of(f"sha256-{SHA[:-2]}.vmdk") is None  # a digest too short
    assert paths.checksum_of(f"sha256-{SHA}-flat.vmdk") is None


def test_an_object_name_gives_back_its_instance() -> None:
    for instance in ("debian-12@vc", "debian-12@vc.r1"):
        assert paths.instance_of(image_object_name(instance), "vc") == instance


def test_the_file_api_url_quotes_the_path_and_names_datacenter_and_datastore() -> None:
    url = paths.file_url("vc.lab", 443, "provisioner-images/lab.vc/a b/x.vmdk",
                         "dcs/DC 0", "Local DS")
    assert url == ("https://vc.lab:443/folder/provisioner-images/lab.vc/a%20b/x.vmdk"
                   "?dcPath=dcs%2FDC+0&dsName=Local+DS")
    assert paths.file_url("::1", 8443, "x", "DC", "DS").startswith("https://[::1]:8443/")


def test_a_datastore_path_splits_into_datastore_and_path() -> None:
    assert paths.split_datastore_path("[LocalDS_0] provisioner-images/lab.vc/") == (
        "LocalDS_0", "provisioner-images/lab.vc")
    assert paths.split_datastore_path("no brackets") is None


def test_the_search_answer_gives_images_and_what_interrupted_uploads_left() -> None:
    listings: list[paths.Listing] = [
        (f"[DS1] {OWNER}", [("debian-12", 0, True), ("half", 0, True), ("empty", 0, True)]),
        (f"[DS1] {OWNER}/debian-12", [(f"sha256-{SHA}.vmdk", 1234, False)]),
        (f"[DS1] {OWNER}/half/", [("creating", 0, False), (f"sha256-{SHA}.vmdk", 10, False)]),
        (f"[DS2] {OWNER}/empty", []),
        (f"[DS1] {OWNER}/debian-12/nested", [(f"sha256-{SHA}.vmdk", 1, False)]),
        ("[DS1] provisioner-images/other.vc/debian-12", [(f"sha256-{SHA}.vmdk", 1, False)]),
    ]
    found = {(item.datastore, item.name): item for item in paths.found_images(OWNER, listings)}
    assert set(found) == {("DS1", "debian-12"), ("DS1", "half"), ("DS2", "empty")}
    image = found["DS1", "debian-12"]
    assert image.complete
    assert (image.checksum, image.fmt, image.size) == (f"sha256:{SHA}", "vmdk", 1234)
    assert image.file == f"[DS1] {OWNER}/debian-12/sha256-{SHA}.vmdk"
    assert image.address("vc") == Address(Kind.IMAGE, "debian-12@vc")
    assert not found["DS1", "half"].complete  # still marked as uploading
    assert not found["DS2", "empty"].complete  # a folder without its image


def _ova(tmp_path: Path, members: dict[str, bytes]) -> Path:
    ova = tmp_path / "x.ova"
    with tarfile.open(ova, "w", format=tarfile.USTAR_FORMAT) as archive:
        for name, content in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(content)
            archive.addfile(info, io.BytesIO(content))
    return ova


def test_an_ova_gives_its_descriptor_and_streams_each_disk_from_its_offset(
        tmp_path: Path) -> None:
    disk = bytes(range(256)) * 40
    ova = _ova(tmp_path, {"x.ovf": b"<Envelope/>", "x.mf": b"SHA256(x.ovf)= 00",
                          "disk1.vmdk": disk})
    found = read_ova(ova)
    assert found.descriptor == "<Envelope/>"
    member = found.member("disk1.vmdk")
    assert member.size == len(disk)
    with open_member(ova, member) as stream:
        assert stream.read(member.size) == disk
    with pytest.raises(OvaError, match=r"no file 'disk2\.vmdk'"):
        found.member("disk2.vmdk")


def test_a_file_that_is_no_ova_is_refused(tmp_path: Path) -> None:
    with pytest.raises(OvaError, match=r"no \.ovf descriptor"):
        read_ova(_ova(tmp_path, {"disk1.vmdk": b"KDMV"}))
    junk = tmp_path / "junk.ova"
    junk.write_bytes(b"not a tar" * 100)
    with pytest.raises(OvaError, match="not a readable OVA"):
        read_ova(junk)


def _guest(spec: dict[str, object], references: dict[str, Address]) -> Resource:
    return Resource(address=Address(Kind.GUEST, "web"), provider="vc", spec=spec,
                    references=references)


def test_the_disks_that_start_from_images_and_the_names_the_memo_keeps() -> None:
    from provisioner.providers.vsphere.images import disk_images, image_memo

    tiny, data = Address(Kind.IMAGE, "tiny@vc"), Address(Kind.IMAGE, "data@vc")
    guest = _guest({"image": "tiny", "disks": [{"size": 1024**3}, {"size": 1024**3,
                                                                     "image": "data"}]},
                   {"image": tiny, "disks[1].image": data,
                    "networks[0].network": Address(Kind.NETWORK, "lab")})
    assert disk_images(guest) == {0: tiny, 1: data}
    assert image_memo(guest) == {"image": "tiny", "disks[1].image": "data"}


def test_a_disk_from_an_image_attaches_the_copy_and_grows_it() -> None:
    from provisioner.providers.vsphere.configspec import Request, config_spec
    from provisioner.providers.vsphere.facts import Facts, VmRecord

    spec = {"cpus": 1, "memory": 64 * 1024**2,
            "disks": [{"size": 2 * 1024**3}, {"size": 1024**3}]}
    request = Request(name="web", spec=spec, changed=("disks",), networks=lambda _n: None,  # type: ignore[arg-type,return-value]
                      datastore=lambda _pool: "LocalDS_0", facts=Facts(),
                      sources={0: "[LocalDS_0] web/web_image0.vmdk"})
    made = config_spec(VmRecord("vm-1", {"config.hardware.device": []}), request)
    disks = [change for change in made.deviceChange
             if type(change.device).__name__.endswith("VirtualDisk")]
    copied, new = disks
    assert copied.device.backing.fileName == "[LocalDS_0] web/web_image0.vmdk"
    assert not copied.fileOperation  # attached as it is
    assert copied.device.capacityInBytes == 2 * 1024**3
    assert new.device.backing.fileName == "[LocalDS_0]"
    assert new.fileOperation == "create"
