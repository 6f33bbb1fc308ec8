"""Images as files: checksums as the stack and SUMS files write them, what a file's
first bytes say it is, and the progress a download prints."""

from __future__ import annotations

import io
import itertools
import subprocess
from pathlib import Path

import pytest

from provisioner.errors import ProviderError
from provisioner.images.checksums import Checksum, checksum_in_sums
from provisioner.images.formats import HEADER_BYTES, detect_format, virtual_size
from provisioner.images.progress import Progress

SHA256 = "ab" * 32
SHA512 = "cd" * 64


def test_a_checksum_is_parsed_lowercased_and_shown_short() -> None:
    checksum = Checksum.parse(f"SHA256:{SHA256.upper()}")
    assert (checksum.algorithm, checksum.hex) == ("sha256", SHA256)
    assert str(checksum) == f"sha256:{SHA256}"
    assert checksum.short == "sha256:abababab…"
    assert checksum.key == f"sha256-{SHA256}"


@pytest.mark.parametrize("text", ["md5:" + "a" * 32, "sha256:" + "a" * 63, "sha256:" + "g" * 64,
                                  "sha512:" + SHA256, SHA256])
def test_what_is_not_a_checksum_is_refused_naming_the_forms(text: str) -> None:
    with pytest.raises(ValueError, match="sha256:HEX or sha512:HEX"):
        Checksum.parse(text)


def test_a_sums_file_gives_the_line_of_the_image_in_any_of_its_forms() -> None:
    text = (f"{'0' * 64}  other.qcow2\n"
            f"{SHA256} *debian-12.qcow2\n"
            f"SHA512 (debian-12.raw) = {SHA512}\n")
    assert str(checksum_in_sums(text, "debian-12.qcow2", "SUMS")) == f"sha256:{SHA256}"
    assert str(checksum_in_sums(text, "debian-12.raw", "SUMS")) == f"sha512:{SHA512}"
    with pytest.raises(ProviderError, match=r"SUMS has no checksum line for 'debian-13\.qcow2'"):
        checksum_in_sums(text, "debian-13.qcow2", "SUMS")


def test_formats_are_told_from_the_first_bytes(tmp_path: Path) -> None:
    qcow2 = tmp_path / "disk.qcow2"
    subprocess.run(["qemu-img", "create", "-q", "-f", "qcow2", str(qcow2), "3G"], check=True)
    header = qcow2.read_bytes()[:HEADER_BYTES]
    assert detect_format(header) == "qcow2"
    assert virtual_size(header, "qcow2", len(header)) == 3 << 30
    vmdk = tmp_path / "disk.vmdk"
    subprocess.run(["qemu-img", "create", "-q", "-f", "vmdk", str(vmdk), "1G"], check=True)
    header = vmdk.read_bytes()[:HEADER_BYTES]
    assert (detect_format(header), virtual_size(header, "vmdk", 0)) == ("vmdk", 1 << 30)
    iso = bytearray(HEADER_BYTES)
    iso[0x8001:0x8006] = b"CD001"
    assert detect_format(bytes(iso)) == "iso"
    tar = bytearray(1024)
    tar[257:262] = b"ustar"
    assert detect_format(bytes(tar)) == "ova"
    raw = b"\0" * 4096
    assert (detect_format(raw), virtual_size(raw, "raw", 10 << 20)) == ("raw", 10 << 20)


def test_progress_draws_a_bar_on_a_terminal_and_lines_in_a_log() -> None:
    clock = iter([0.0, 1.0, 1.1, 2.0, 3.0]).__next__
    terminal = io.StringIO()
    bar = Progress("images.x@kvm", 100 << 20, terminal, tty=True, clock=clock)
    bar(50 << 20)
    bar(51 << 20)  # 0.1 s later: not drawn again
    bar(100 << 20)
    drawn = terminal.getvalue()
    assert drawn.count("\r") == 2 and drawn.endswith("\n")
    assert "[############............]  50% 50MiB of 100MiB, 50MiB/s, ETA 0:01" in drawn
    log = io.StringIO()
    ticks = itertools.count()
    clock = lambda: next(ticks) * 0.1  # noqa: E731 - 10 s for the whole download
    lines = Progress("images.x@kvm", 1000, log, tty=False, clock=clock)
    for done in range(0, 1001, 10):
        lines(done)
    printed = log.getvalue().splitlines()
    assert len(printed) == 11  # the start, then one per 10%: not one per call
    assert "\r" not in log.getvalue()
    assert printed[-1].startswith("images.x@kvm: 100% 1000B of 1000B")
