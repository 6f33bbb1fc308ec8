"""A private libvirtd serving libvirt's test driver, for plans at scale.

libvirt's ``test:///default`` driver keeps its objects in memory, shared by every
connection of one process while one stays open. Served by a libvirtd of its own
(session mode, as the unprivileged user ``nobody``, in a temporary directory), the
plan under test talks to it as to any hypervisor: over libvirt's RPC, with the
driver's memory in another process. A node file (``test:///PATH``) would instead
be parsed again by every client at open (4-5 s and ~500 MB at 10,000 domains,
measured here), which no real hypervisor costs its clients.

The system daemon of ``scripts/testbed`` is left alone: this one has its own
sockets, runtime directory and pid, and is stopped by that pid.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import tempfile
import time
from pathlib import Path
from types import TracebackType

import libvirt

from bench.stacks import SIM_POOL

USER = "nobody"


class SimDaemon:
    """``with SimDaemon() as sim: sim.uri`` — a test driver behind a private libvirtd."""

    def __init__(self) -> None:
        self.root = Path(tempfile.mkdtemp(prefix="bench-libvirtd-"))
        self.process: subprocess.Popen[bytes] | None = None
        self.conn: libvirt.virConnect | None = None
        """Held open: the driver's state lives as long as one connection does."""

    @property
    def socket(self) -> Path:
        return self.root / "run" / "libvirt" / "libvirt-sock"

    @property
    def uri(self) -> str:
        return f"test+unix:///default?socket={self.socket}"

    def start(self) -> SimDaemon:
        binary = shutil.which("libvirtd") or "/usr/sbin/libvirtd"
        home = self.root / "home"
        for sub in ("run", "home/.cache", "config"):
            (self.root / sub).mkdir(parents=True, exist_ok=True)
        os.chmod(self.root, 0o755)
        subprocess.run(["chown", "-R", f"{USER}:", str(self.root)], check=True)
        env = {"PATH": os.environ.get("PATH", "/usr/sbin:/usr/bin"), "HOME": str(home),
               "XDG_RUNTIME_DIR": str(self.root / "run"),
               "XDG_CACHE_HOME": str(home / ".cache"),
               "XDG_CONFIG_HOME": str(self.root / "config")}
        log = (self.root / "libvirtd.log").open("wb")
        self.process = subprocess.Popen(
            ["setpriv", f"--reuid={USER}", f"--regid={_group()}", "--clear-groups", binary],
            env=env, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
            start_new_session=True)
        deadline = time.monotonic() + 20
        while True:
            if self.socket.exists():
                try:
                    self.conn = libvirt.open(self.uri)
                    break
                except libvirt.libvirtError:
                    pass
            if self.process.poll() is not None or time.monotonic() > deadline:
                text = (self.root / "libvirtd.log").read_text(errors="replace")[-2000:]
                self.stop()
                raise RuntimeError(f"the private libvirtd did not start:\n{text}")
            time.sleep(0.05)
        self._ensure_capacity()
        return self

    def _ensure_capacity(self) -> None:
        """test:///default has one pool, ``default-pool``, of 100 GiB: enough for the
        benchmark's small disks. Checked, so a change in libvirt is said plainly."""
        assert self.conn is not None
        names = [pool.name() for pool in self.conn.listAllStoragePools()]
        if SIM_POOL not in names:
            raise RuntimeError(f"test:///default has no pool {SIM_POOL} (pools: {names})")

    def stop(self) -> None:
        if self.conn is not None:
            with contextlib.suppress(libvirt.libvirtError):
                self.conn.close()
            self.conn = None
        if self.process is not None and self.process.poll() is None:
            os.kill(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                os.kill(self.process.pid, signal.SIGKILL)
                self.process.wait(10)
        shutil.rmtree(self.root, ignore_errors=True)

    def __enter__(self) -> SimDaemon:
        return self.start()

    def __exit__(self, kind: type[BaseException] | None, value: BaseException | None,
                 trace: TracebackType | None) -> None:
        self.stop()


def _group() -> str:
    import grp
    for name in ("nogroup", "nobody"):
        try:
            grp.getgrnam(name)
            return name
        except KeyError:
            continue
    return "65534"
