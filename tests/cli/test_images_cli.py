"""Images at the command line, on the qemu provider (a file is an image too): the plan
says what will be imported and whether the cache holds it, --stats too, and a
malformed image is refused at its line before anything is made."""

from __future__ import annotations

import os
import textwrap
from pathlib import Path

from support.images import marked_image
from test_cli import run

STACK = """\
apiVersion: provisioner/v1
stack: imgcli
providers:
  local: {{ type: qemu, dir: .provisioner/qemu, accel: tcg }}
images:
  base: {{ url: {url}, providers: [local] {format} }}
"""


def _env(tmp_path: Path) -> dict[str, str]:
    return dict(os.environ, PROVISIONER_IMAGE_CACHE=str(tmp_path / "cache"))


def test_the_plan_says_what_is_imported_and_whether_it_is_cached(tmp_path: Path) -> None:
    checksum = marked_image(tmp_path, "base.qcow2", "IMAGE-MARKER-v1")
    (tmp_path / "stack.yaml").write_text(STACK.format(url="base.qcow2", format=""))
    planned = run("plan", "--stats", str(tmp_path), env=_env(tmp_path))
    assert planned.returncode == 0, planned.stderr
    short = checksum.removeprefix("sha256:")[:8]
    assert f"+ images.base@local will be imported (384KiB, sha256:{short}…)" in planned.stdout
    assert "base (384KiB): to download" in planned.stdout + planned.stderr
    applied = run("apply", "--auto-approve", str(tmp_path), env=_env(tmp_path))
    assert applied.returncode == 0, applied.stdout + applied.stderr
    assert (tmp_path / "cache" / checksum.replace(":", "-")).is_file()
    again = run("plan", "--stats", str(tmp_path), env=_env(tmp_path))
    assert "No changes" in again.stdout
    assert "base (384KiB): in the cache" in again.stdout + again.stderr
    destroyed = run("destroy", "--auto-approve", str(tmp_path), env=_env(tmp_path))
    assert destroyed.returncode == 0, destroyed.stdout + destroyed.stderr


def test_an_image_that_is_not_its_declared_format_is_refused_at_its_line(
        tmp_path: Path) -> None:
    marked_image(tmp_path, "base.qcow2", "IMAGE-MARKER-v1")
    (tmp_path / "stack.yaml").write_text(STACK.format(url="base.qcow2", format=", format: raw"))
    planned = run("plan", str(tmp_path), env=_env(tmp_path))
    assert planned.returncode != 0
    assert textwrap.dedent("""\
        stack.yaml:6:57: images.base@local: format is raw, but the file is qcow2
          hint: write format: qcow2, or leave format out to detect it""") in planned.stderr
    assert "Traceback" not in planned.stderr
    assert not (tmp_path / ".provisioner" / "qemu").exists()
