"""Proxmox image volumes: the file name carries the block's ownership and the checksum,
and is read back from a content listing; the upload body is streamed from the file."""

from __future__ import annotations

from pathlib import Path

import pytest

from provisioner.providers.proxmox.image_names import (
    CHUNK,
    MultipartFile,
    content_of,
    file_name,
    parse_volume,
)
from provisioner.providers.proxmox.ownership import Ownership

OWNER = Ownership("lab", "pve")
SHA = "sha256:" + "ab" * 32


def test_a_disk_image_goes_to_import_and_an_iso_to_iso() -> None:
    assert [content_of(f) for f in ("qcow2", "raw", "vmdk", "iso")] == [
        "import", "import", "import", "iso"]


@pytest.mark.parametrize(("name", "checksum", "fmt"), [
    ("debian-12", SHA, "qcow2"), ("tiny.r1", SHA, "raw"),
    ("boot", "sha512:" + "cd" * 64, "iso"), ("win", SHA.upper().replace("SHA", "sha"), "vmdk")])
def test_a_name_is_read_back_from_its_volume_id(name: str, checksum: str, fmt: str) -> None:
    file = file_name(OWNER, name, checksum, fmt)
    assert file.startswith(f"lab_pve_{name}.") and file.endswith(f".{fmt}")
    volume = parse_volume(OWNER, f"local:{content_of(fmt)}/{file}", ctime=7)
    assert volume is not None
    assert (volume.storage, volume.name, volume.checksum, volume.format, volume.ctime) == (
        "local", name, checksum.lower(), fmt, 7)
    assert volume.volid == f"local:{content_of(fmt)}/{file}"


@pytest.mark.parametrize("volid", [
    f"local:import/{file_name(Ownership('other', 'pve'), 'deb', SHA, 'qcow2')}",  # other stack
    f"local:import/{file_name(Ownership('lab', 'pve2'), 'deb', SHA, 'qcow2')}",  # other block
    f"local:iso/{file_name(OWNER, 'deb', SHA, 'qcow2')}",  # a disk image under iso/
    f"local:import/{file_name(OWNER, 'deb', SHA, 'iso')}",  # an iso under import/
    "local:import/debian-12-genericcloud-amd64.qcow2",  # someone's own file
    "local:iso/lab_pve_deb.qcow2",  # no checksum
    "local-lvm:vm-100-disk-0",
])
def test_volumes_not_of_this_block_are_not_images(volid: str) -> None:
    assert parse_volume(OWNER, volid) is None


def test_the_upload_body_is_the_fields_and_the_whole_file_read_in_pieces(
        tmp_path: Path) -> None:
    data = bytes(range(256)) * (3 * CHUNK // 256 + 5)
    source = tmp_path / "disk.qcow2"
    source.write_bytes(data)
    body = MultipartFile({"content": "import", "checksum": "00"}, source, "f.qcow2")
    pieces = []
    while piece := body.read(100_000):
        assert len(piece) <= 100_000
        pieces.append(piece)
    whole = b"".join(pieces)
    assert len(whole) == len(body)
    assert body.content_type == f"multipart/form-data; boundary={body.boundary}"
    boundary = f"--{body.boundary}".encode()
    parts = whole.split(boundary)
    assert parts[0] == b"" and parts[-1] == b"--\r\n"
    assert parts[1] == b'\r\nContent-Disposition: form-data; name="content"\r\n\r\nimport\r\n'
    head, _, file_part = parts[3].partition(b"\r\n\r\n")
    assert b'name="filename"; filename="f.qcow2"' in head
    assert file_part == data + b"\r\n"
