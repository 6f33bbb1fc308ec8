"""qemu volumes end to end: a volume attached to a tiny guest is a disk it sees,
grows while the guest runs (same QEMU process), outlives the guest that drops
it, and a create killed after its marker converges. Everything checked is on
disk or in /proc: the image's virtual size, the QEMU process, the guest's console."""

from __future__ import annotations

import json
import signal
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from support.e2e import TinyGuest, boot_options, wait_serial
from support.qemu_lab import QemuLab, lab_for

STACK = """apiVersion: provisioner/v1
stack: {stack}
providers:
  local: {{ type: qemu, dir: .provisioner/qemu, accel: tcg, stop_timeout: 30 }}
volumes:
  data: {{ provider: local, size: {size} }}
guests:
  app:
    provider: local
    memory: 192MiB
    disks: [ {disks} ]
    cloud_init:
      user_data: |
        #!/bin/sh
        for d in /sys/block/vd*; do echo "TINY: disk $${{d##*/}} $(cat $d/size)"; done
    options: {{ {boot} }}
"""
MIB = 1024 * 1024


@pytest.fixture
def lab(tmp_path: Path, tiny_guest: TinyGuest) -> Iterator[QemuLab]:
    yield from lab_for(tmp_path, tiny_guest, "qemu-volumes")


def _write(lab: QemuLab, size: str = "64MiB", attached: bool = True) -> None:
    disks = "{ size: 32MiB }" + (", { volume: data }" if attached else "")
    text = STACK.format(stack=lab.stack, size=size, disks=disks, boot=boot_options(lab.tiny))
    (lab.directory / "stack.yaml").write_text(text, encoding="utf-8")


def _image(lab: QemuLab) -> Path:
    return lab.guests / ".volumes" / "data.qcow2"


def _virtual_size(image: Path) -> int:
    info = subprocess.run(["qemu-img", "info", "--output=json", "-U", str(image)],
                          capture_output=True, text=True, check=True)
    return int(json.loads(info.stdout)["virtual-size"])


def test_a_volume_is_a_disk_grows_online_and_outlives_its_guest(lab: QemuLab) -> None:
    _write(lab)
    lab.apply()
    console = lab.console("app")
    wait_serial(console, r"^TINY: disk vdb 131072$")  # the volume: 64 MiB in sectors
    first = lab.pid("app")
    assert first is not None and lab.changes() == {}

    _write(lab, size="96MiB")
    assert lab.changes() == {"volumes.data": "update"}
    assert "requires restart" not in lab.cli("plan").stdout
    lab.apply()
    assert lab.pid("app") == first, "growing the volume restarted its guest"
    assert _virtual_size(_image(lab)) == 96 * MIB
    assert lab.changes() == {}

    _write(lab, size="96MiB", attached=False)  # detached: a restart, the volume stays
    assert lab.changes() == {"guests.app": "update"}
    lab.apply()
    assert _virtual_size(_image(lab)) == 96 * MIB
    assert lab.changes() == {}

    lab.cli("destroy", "--auto-approve")
    assert lab.processes() == []
    assert not (lab.directory / ".provisioner" / "qemu" / lab.stack).exists()


def test_a_volume_create_killed_after_its_marker_converges(lab: QemuLab) -> None:
    _write(lab)
    killed = lab.apply(kill_at="qemu:volume-marked:volumes.data", check=False)
    assert killed.returncode == -signal.SIGKILL, killed.stdout
    assert (lab.guests / ".volumes" / "data.creating.json").exists()
    lab.apply()
    assert _virtual_size(_image(lab)) == 64 * MIB
    assert sorted(p.name for p in (lab.guests / ".volumes").iterdir()) == \
        ["data.json", "data.qcow2"]
    assert lab.changes() == {}
    lab.cli("destroy", "--auto-approve")
    assert not (lab.directory / ".provisioner" / "qemu" / lab.stack).exists()
