"""The real libvirt daemon of ``scripts/testbed``: started if it is not running, and
stopped at the end only in that case (other users of the machine may rely on it)."""

from __future__ import annotations

import subprocess
from types import TracebackType

from bench.context import ROOT


class Testbed:
    uri = "qemu:///system"

    def __init__(self) -> None:
        self.started = False

    def __enter__(self) -> Testbed:
        status = subprocess.run([str(ROOT / "scripts" / "testbed"), "status", "--no-probe"],
                                capture_output=True, text=True, check=False)
        if status.returncode != 0:
            subprocess.run([str(ROOT / "scripts" / "testbed"), "start"], check=True,
                           capture_output=True)
            self.started = True
        subprocess.run([str(ROOT / "scripts" / "tiny-guest"), "build"], check=True,
                       capture_output=True)
        return self

    def __exit__(self, kind: type[BaseException] | None, value: BaseException | None,
                 trace: TracebackType | None) -> None:
        if self.started:
            subprocess.run([str(ROOT / "scripts" / "testbed"), "stop"], capture_output=True,
                           check=False)
