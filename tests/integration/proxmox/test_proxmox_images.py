"""Images on fakepve: a qcow2 made in the test uploaded (streamed multipart) into a
storage's ``import/`` content, a guest whose disk is made from it (``import-from``), a
clean re-plan, a replacement when its checksum changes, nothing left after destroy or a
checksum mismatch; ``options.download`` has the node fetch the URL (download-url).

fakepve lacks an upload of content import, the upload's checksum check and
``import-from``: pve_imports.py adds them as PVE 8.2+ does, and records what arrived
(``uploads``, ``downloads``, ``imports``); the assertions read those records.
"""

from __future__ import annotations

import hashlib
import shutil
from pathlib import Path
from urllib.parse import parse_qs

import pytest
from pve_harness import Lab, TestPve, actions, failures, field_changes, guest
from support.image_server import image_server
from support.images import marked_image

from provisioner.errors import PlanError
from provisioner.plan.model import Action

pytestmark = pytest.mark.skipif(shutil.which("qemu-img") is None, reason="needs qemu-img")

IMAGE = """
images:
  tiny:
    url: {url}
    checksum: {checksum}
    pool: local
    provider: pve
    options: {{ download: {download} }}
"""
WITH_GUEST = IMAGE + """
guests:
  web:
    provider: pve
    image: tiny
    node: pve1
    cpus: 1
    memory: 512MiB
    power: stopped
    disks: [ {{ size: 1GiB }} ]
    networks: [ {{ bridge: vmbr0 }} ]
"""


@pytest.fixture(autouse=True)
def _cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PROVISIONER_IMAGE_CACHE", str(tmp_path / "cache"))
    # the image files are made beside the stack's directory: allowed as a runner would
    monkeypatch.setenv("PROVISIONER_ALLOW_PATHS", str(tmp_path))


@pytest.fixture(autouse=True)
def _import_content(pve: TestPve) -> None:
    if not getattr(pve, "real", False):  # a real cluster's storages are as they are
        pve.storages["local"]["content"] += ",import"


def image_volumes(pve: TestPve) -> list[str]:
    """Every import or iso volume of the lab's block, on every storage."""
    return sorted(f"{sid}:{name}" for sid, store in pve.storages.items()
                  for name in store.get("volumes", {})
                  if name.startswith(("import/", "iso/lab_pve_")))


def body(template: str, url: object, checksum: str, download: bool = False) -> str:
    return template.format(url=url, checksum=checksum, download=str(download).lower())


@pytest.mark.simulator_only("reads fakepve's upload, import and request logs")
def test_an_uploaded_image_makes_a_guest_and_is_replaced_then_destroyed(
        lab: Lab, pve: TestPve, tmp_path: Path) -> None:
    checksum = marked_image(tmp_path, "tiny.qcow2", "IMAGE-ONE-ABCDE", size=16 << 20)
    image = tmp_path / "tiny.qcow2"
    digest = checksum.split(":")[1]
    plan, result = lab.apply(body(WITH_GUEST, image, checksum))
    assert actions(plan) == {"images.tiny@pve": Action.CREATE, "guests.web": Action.CREATE}
    assert result.ok, failures(result)

    volid = f"local:import/lab_pve_tiny.sha256-{digest}.qcow2"
    assert image_volumes(pve) == [volid]
    # what the fake was sent: the file's every byte, as content import, once per node
    assert {(u["node"], u["content"], u["size"], u["sha256"]) for u in pve.uploads} == {
        (node, "import", image.stat().st_size, digest) for node in ("pve1", "pve2")}
    assert all(u["checksum-algorithm"] == "sha256" for u in pve.uploads)
    vm = guest(pve, "web")
    assert pve.imports == [(vm.vmid, "scsi0", volid)]
    (create,) = [parse_qs(sent.decode()) for method, path, sent in pve.requests
                 if method == "POST" and path.endswith("/nodes/pve1/qemu")]
    assert create["scsi0"] == [f"local-lvm:0,import-from={volid}"]  # the call PVE is sent
    assert "import-from" not in vm.config["scsi0"]
    assert vm.config["scsi0"].startswith("local-lvm:") and vm.config["scsi0"].endswith(
        "size=1G"), vm.config["scsi0"]  # the 16MiB image's copy, grown to the disk's size

    assert not lab.plan(body(WITH_GUEST, image, checksum)).has_changes

    changed = marked_image(tmp_path, "tiny.qcow2", "IMAGE-TWO-ABCDE", size=16 << 20)
    plan, result = lab.apply(body(WITH_GUEST, image, changed))
    assert actions(plan) == {"images.tiny@pve": Action.REPLACE, "guests.web": Action.REPLACE}
    assert result.ok, failures(result)
    (new,) = image_volumes(pve)  # made first, under the replacement's name (tiny.r1)
    assert new == f"local:import/lab_pve_tiny.r1.sha256-{changed.split(':')[1]}.qcow2"
    assert pve.imports[-1] == (guest(pve, "web").vmid, "scsi0", new)
    assert not lab.plan(body(WITH_GUEST, image, changed)).has_changes

    plan, result = lab.apply("guests: {}\n")
    assert set(actions(plan).values()) == {Action.DELETE}
    assert result.ok, failures(result)
    assert image_volumes(pve) == []
    assert [g for g in pve.vms if g.name == "web"] == []


@pytest.mark.simulator_only("reads fakepve's upload log")
def test_a_checksum_mismatch_leaves_no_volume(lab: Lab, pve: TestPve, tmp_path: Path) -> None:
    marked_image(tmp_path, "tiny.qcow2", "IMAGE-ONE-ABCDE")
    wrong = "sha256:" + hashlib.sha256(b"something else").hexdigest()
    _, result = lab.apply(body(WITH_GUEST, tmp_path / "tiny.qcow2", wrong))
    assert not result.ok
    assert any(wrong in text and "sha256:" in text for text in map(str, failures(result)))
    assert image_volumes(pve) == [] and pve.uploads == []  # refused before any upload
    assert [g for g in pve.vms if g.name == "web"] == []


@pytest.mark.simulator_only("reads fakepve's upload and download logs")
def test_download_url_has_the_node_fetch_it(lab: Lab, pve: TestPve, tmp_path: Path) -> None:
    served = tmp_path / "www"
    served.mkdir()
    checksum = marked_image(served, "tiny.qcow2", "IMAGE-ONE-ABCDE")
    with image_server(served) as server:
        url = f"{server.url}/tiny.qcow2"
        _, result = lab.apply(body(IMAGE, url, checksum, download=True))
        assert result.ok, failures(result)
        assert not lab.plan(body(IMAGE, url, checksum, download=True)).has_changes
    assert pve.uploads == []
    digest = checksum.split(":")[1]
    assert [(d["node"], d["content"], d["url"], d["checksum"], d["checksum-algorithm"])
            for d in pve.downloads] == [(node, "import", url, digest, "sha256")
                                        for node in ("pve1", "pve2")]
    assert image_volumes(pve) == [f"local:import/lab_pve_tiny.sha256-{digest}.qcow2"]


PLAN_CASES = {
    "storage without import content": (
        ("pool: local", "pool: local-lvm"),
        "images.tiny@pve: pool 'local-lvm' does not hold import (it holds images, rootdir)"),
    "no such storage": (("pool: local", "pool: nas"),
                        "images.tiny@pve: pool 'nas' is not a storage of the cluster"),
    "disk smaller than the image": (
        ("disks: [ { size: 1GiB } ]", "disks: [ { size: 8MiB } ]"),
        "guests.web: disks[0].size 8MiB is smaller than the image it starts from"),
    "image that is not declared": (
        ("image: tiny", "image: debian-12"),
        "guests.web: image names no declared image"),
    "download of a local file": (
        ("download: false", "download: true"),
        "images.tiny@pve: options.download needs an http(s) URL for the node to fetch"),
    "an ISO as a disk's image": (
        ("pool: local\n", "pool: local\n    format: iso\n"),
        "guests.web: image names images.tiny@pve, an ISO: a disk here is a copy of a disk "
        "image"),
    "image without a disk": (("disks: [ { size: 1GiB } ]", "disks: []"),
                             "guests.web: image needs a disk to go on here"),
}


@pytest.mark.simulator_only("reads fakepve's request log (what the provider sent)")
@pytest.mark.parametrize("case", sorted(PLAN_CASES))
def test_bad_image_input_is_a_plan_error(case: str, lab: Lab, pve: TestPve,
                                         tmp_path: Path) -> None:
    checksum = marked_image(tmp_path, "tiny.qcow2", "IMAGE-ONE-ABCDE", size=16 << 20)
    good = body(WITH_GUEST, tmp_path / "tiny.qcow2", checksum)
    (old, new), expected = PLAN_CASES[case]
    assert old in good, "the case changes nothing"
    lab.plan(good)  # the good stack plans
    requests = len(pve.requests)
    with pytest.raises(PlanError) as failure:
        lab.plan(good.replace(old, new))
    assert expected in str(failure.value), str(failure.value)
    assert [r for r in pve.requests[requests:] if r[0] != "GET"] == [], "a plan wrote"


def test_an_ova_is_refused_at_plan_time(lab: Lab, tmp_path: Path) -> None:
    checksum = marked_image(tmp_path, "tiny.qcow2", "IMAGE-ONE-ABCDE")
    text = body(IMAGE, tmp_path / "tiny.qcow2", checksum).replace("pool: local",
                                                                   "pool: local\n    format: ova")
    with pytest.raises(PlanError) as failure:
        lab.plan(text)
    assert "images.tiny@pve: format is ova: the proxmox provider imports iso, qcow2, raw, " \
           "vmdk" in str(failure.value), str(failure.value)


@pytest.mark.simulator_only("sets the free space of the fake's storage local")
def test_an_image_is_counted_against_its_storage_on_each_node(lab: Lab, pve: TestPve,
                                                              tmp_path: Path) -> None:
    checksum = marked_image(tmp_path, "tiny.qcow2", "IMAGE-ONE-ABCDE")
    size = (tmp_path / "tiny.qcow2").stat().st_size
    pve.storages["local"]["avail"] = size - 1
    with pytest.raises(PlanError) as failure:
        lab.plan(body(IMAGE, tmp_path / "tiny.qcow2", checksum))
    text = str(failure.value)
    assert "local@pve1" in text and "local@pve2" in text, text
    pve.storages["local"]["avail"] = size
    assert lab.plan(body(IMAGE, tmp_path / "tiny.qcow2", checksum)).has_changes


@pytest.mark.simulator_only("puts a stale image volume on the fake's storage local")
def test_an_older_volume_of_the_image_is_a_leftover_the_plan_deletes(
        lab: Lab, pve: TestPve, tmp_path: Path) -> None:
    checksum = marked_image(tmp_path, "tiny.qcow2", "IMAGE-ONE-ABCDE")
    text = body(IMAGE, tmp_path / "tiny.qcow2", checksum)
    _, result = lab.apply(text)
    assert result.ok, failures(result)
    (kept,) = image_volumes(pve)
    stale = "import/lab_pve_tiny.sha256-" + "0" * 64 + ".qcow2"  # an import left behind
    pve.storages["local"]["volumes"][stale] = {"content": "import", "format": "qcow2",
                                               "size": 10, "ctime": 1}
    plan = lab.plan(text)
    assert plan.has_changes
    _, result = lab.apply(text)
    assert result.ok, failures(result)
    assert image_volumes(pve) == [kept]
    assert not lab.plan(text).has_changes


@pytest.mark.simulator_only("loses the image's volume on one node of the fake")
def test_an_image_missing_on_one_node_is_imported_again(lab: Lab, pve: TestPve,
                                                         tmp_path: Path) -> None:
    checksum = marked_image(tmp_path, "tiny.qcow2", "IMAGE-ONE-ABCDE")
    text = body(IMAGE, tmp_path / "tiny.qcow2", checksum)
    _, result = lab.apply(text)
    assert result.ok, failures(result)
    (volid,) = image_volumes(pve)
    pve.lost["pve2"] = {volid}  # as if its upload to pve2 had failed
    plan = lab.plan(text)
    assert actions(plan) == {"images.tiny@pve": Action.REPLACE}
    assert [path for path, _ in field_changes(plan)["images.tiny@pve"]] == ["checksum"]
    uploads = len(pve.uploads)
    _, result = lab.apply(text)
    assert result.ok, failures(result)
    assert [u["node"] for u in pve.uploads[uploads:]] == ["pve1", "pve2"]
    assert not lab.plan(text).has_changes


@pytest.mark.simulator_only("reads fakepve's import log")
def test_a_second_disk_starts_from_the_image(lab: Lab, pve: TestPve, tmp_path: Path) -> None:
    checksum = marked_image(tmp_path, "tiny.qcow2", "IMAGE-ONE-ABCDE", size=16 << 20)
    text = body(WITH_GUEST, tmp_path / "tiny.qcow2", checksum).replace(
        "    image: tiny\n", "").replace(
        "disks: [ { size: 1GiB } ]", "disks: [ { size: 1GiB }, { image: tiny, format: raw } ]")
    _, result = lab.apply(text)
    assert result.ok, failures(result)
    vm = guest(pve, "web")
    (volid,) = image_volumes(pve)
    assert pve.imports == [(vm.vmid, "scsi1", volid)]
    assert vm.config["scsi1"].endswith("size=16M"), vm.config["scsi1"]  # the image's size
    assert "import-from" not in vm.config["scsi0"]
    plan = lab.plan(text)
    assert not plan.has_changes, [(c.address, field_changes(plan)) for c in plan.changes]


@pytest.mark.simulator_only("reads fakepve's upload log")
def test_an_iso_is_uploaded_as_iso_content(lab: Lab, pve: TestPve, tmp_path: Path) -> None:
    iso = tmp_path / "boot.iso"
    iso.write_bytes(b"\0" * 32768 + b"\x01CD001" + b"\0" * 4096)
    checksum = "sha256:" + hashlib.sha256(iso.read_bytes()).hexdigest()
    text = body(IMAGE, iso, checksum).replace("pool: local\n", "pool: local\n    format: iso\n")
    _, result = lab.apply(text)
    assert result.ok, failures(result)
    assert image_volumes(pve) == [
        f"local:iso/lab_pve_tiny.sha256-{checksum.split(':')[1]}.iso"]
    assert {(u["content"], u["size"]) for u in pve.uploads} == {("iso", iso.stat().st_size)}
    assert not lab.plan(text).has_changes
    _, result = lab.apply("guests: {}\n")
    assert result.ok, failures(result)
    assert image_volumes(pve) == []
