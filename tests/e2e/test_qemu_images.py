"""Images with the qemu provider on real QEMU: declared by URL (a server in the test
process), hard-linked from the cache into the block's .images/, and a guest's disk is
an overlay of it that the tiny guest reads. Replaced before its guest on a new
checksum; an import killed after its marker converges; destroy leaves no file."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from support.e2e import TinyGuest, boot_options, wait_serial
from support.image_server import ImageServer, image_server
from support.images import PRINT_DISK, marked_image
from support.qemu_lab import QemuLab, lab_for

STACK = """apiVersion: provisioner/v1
stack: {stack}
providers:
  local: {{ type: qemu, dir: .provisioner/qemu, accel: tcg, stop_timeout: 30 }}
images:
  base: {{ url: "{url}", checksum: "{checksum}" }}
guests:
  app:
    provider: local
    memory: 192MiB
    image: base
    cloud_init: {{ user_data: boot.sh }}
    options: {{ {boot} }}
"""


@pytest.fixture
def lab(tmp_path: Path, tiny_guest: TinyGuest,
        monkeypatch: pytest.MonkeyPatch) -> Iterator[QemuLab]:
    monkeypatch.setenv("PROVISIONER_IMAGE_CACHE", str(tmp_path / "cache"))
    directory = tmp_path / "lab"
    directory.mkdir()
    yield from lab_for(directory, tiny_guest, "qemu-images")


@pytest.fixture
def served(tmp_path: Path) -> Iterator[ImageServer]:
    root = tmp_path / "www"
    root.mkdir()
    with image_server(root) as server:
        yield server


def _write(lab: QemuLab, served: ImageServer, name: str, checksum: str) -> None:
    (lab.directory / "boot.sh").write_text(PRINT_DISK)
    text = STACK.format(stack=lab.stack, url=f"{served.url}/{name}", checksum=checksum,
                        boot=boot_options(lab.tiny))  # type: ignore[arg-type]
    (lab.directory / "stack.yaml").write_text(text, encoding="utf-8")


def _images(lab: QemuLab) -> list[str]:
    folder = lab.guests / ".images"
    return sorted(p.name for p in folder.iterdir()) if folder.is_dir() else []


def test_a_guest_boots_from_an_image_and_a_new_one_replaces_it(
        lab: QemuLab, served: ImageServer, tmp_path: Path) -> None:
    first = marked_image(served.state.root, "v1.qcow2", "IMAGE-MARKER-v1")
    _write(lab, served, "v1.qcow2", first)
    lab.apply()
    wait_serial(lab.console("app"), r"^TINY: disk starts IMAGE-MARKER-v1$")
    assert _images(lab) == ["base.json", "base.qcow2"]
    cached = tmp_path / "cache" / f"sha256-{first.removeprefix('sha256:')}"
    assert (lab.guests / ".images" / "base.qcow2").samefile(cached), "one copy on disk"
    assert lab.changes() == {}

    second = marked_image(served.state.root, "v2.qcow2", "IMAGE-MARKER-v2")
    _write(lab, served, "v2.qcow2", second)
    assert lab.changes() == {"images.base@local": "replace", "guests.app": "replace"}
    lab.apply()
    wait_serial(lab.console("app"), r"^TINY: disk starts IMAGE-MARKER-v2$")
    assert _images(lab) == ["base.r1.json", "base.r1.qcow2"]
    assert lab.changes() == {}

    _write(lab, served, "v1.qcow2", second)  # another url, the same checksum: no change
    assert lab.changes() == {}
    lab.cli("destroy", "--auto-approve")
    assert not (lab.guests / ".images").exists(), "destroy leaves no image"


def test_a_wrong_checksum_changes_nothing(lab: QemuLab, served: ImageServer) -> None:
    first = marked_image(served.state.root, "v1.qcow2", "IMAGE-MARKER-v1")
    second = marked_image(served.state.root, "v2.qcow2", "IMAGE-MARKER-v2")
    _write(lab, served, "v1.qcow2", first)
    lab.apply()
    pid = lab.pid("app")
    _write(lab, served, "v1.qcow2", second)
    done = lab.cli("apply", "--auto-approve", check=False)
    assert done.returncode != 0
    assert "is not the image the stack names" in done.stdout + done.stderr
    assert lab.pid("app") == pid, "the guest was touched"
    assert _images(lab) == ["base.json", "base.qcow2"]
    lab.cli("destroy", "--auto-approve")


def test_an_import_killed_after_its_marker_converges(
        lab: QemuLab, served: ImageServer) -> None:
    first = marked_image(served.state.root, "v1.qcow2", "IMAGE-MARKER-v1")
    _write(lab, served, "v1.qcow2", first)
    killed = lab.apply(kill_at="qemu:image-marked:*", check=False)
    assert killed.returncode != 0 and _images(lab) == ["base.creating.json"]
    assert "left behind by an interrupted run" in lab.cli("plan").stdout
    lab.apply()
    assert _images(lab) == ["base.json", "base.qcow2"]
    wait_serial(lab.console("app"), r"^TINY: disk starts IMAGE-MARKER-v1$")
    assert lab.changes() == {}
    lab.cli("destroy", "--auto-approve")
