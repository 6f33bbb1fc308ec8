"""fakepve for the benchmarks: a two-node lab cluster with realistic task durations,
served in a process of its own (the fake's event loop never competes with the
client under test for the GIL).

fakepve (AGPL-3.0, a test-only dependency) runs every task at once when its
``time_scale`` is 0 and sleeps ``PVE seconds x time_scale`` otherwise, but its
clones, config changes and resizes take no PVE time at all. ``BenchPve`` gives
each task type the duration it has on a small real cluster (local-lvm, a 2 GiB
template), so that apply parallelism and tool comparisons have work to overlap.

``python -m bench.pve --time-scale 0.02`` serves one and prints its URL; the
``PveServer`` context manager does that from a benchmark.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import subprocess
import sys
import tempfile
from collections.abc import Awaitable, Callable
from pathlib import Path
from types import TracebackType
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
HARNESS = ROOT / "tests" / "integration" / "proxmox"
TOKEN_ENV = "PVE_BENCH_TOKEN"

TASK_SECONDS = {
    "qmclone": 8.0,      # full clone of a 2 GiB template disk on local-lvm
    "qmcreate": 2.0,
    "qmstart": 1.5,
    "qmstop": 1.0,
    "qmshutdown": 3.0,
    "qmdestroy": 1.5,
    "qmconfig": 0.3,
    "resize": 0.5,
}
"""PVE seconds each task type takes (the fake's own are 0 but for start/stop)."""


def _harness() -> Any:
    sys.path[:0] = [str(HARNESS), str(HARNESS.parents[1])]  # pve_harness; tests/ for support
    import pve_harness
    return pve_harness


def make_pve() -> Any:
    """A BenchPve: the integration tests' TestPve (working disk resize), the lab
    cluster of the tests (template debian-12 on pve1 and pve2), bigger nodes and
    storage so that 100 guests fit, and task durations."""
    harness = _harness()
    from fakepve import shapes

    class BenchPve(harness.TestPve):  # type: ignore[misc,name-defined]
        @staticmethod
        def _node_stats(online: bool) -> dict[str, Any]:
            if not online:
                return {}
            return {"cpu": 0.02, "maxcpu": 64, "mem": 2 * shapes.GiB,
                    "maxmem": 512 * shapes.GiB, "disk": 4 * shapes.GiB,
                    "maxdisk": 64 * shapes.GiB, "uptime": 3600}

        async def task(self, node: str, ttype: str, tid: Any, user: str,
                       body: Callable[[], Awaitable[Any]], **kwargs: Any) -> Any:
            seconds = TASK_SECONDS.get(ttype, 0.0)
            if not seconds or not self.time_scale:
                return await super().task(node, ttype, tid, user, body, **kwargs)

            async def slow() -> Any:
                await self.pause(seconds)
                return await body()
            return await super().task(node, ttype, tid, user, slow, **kwargs)

    pve = BenchPve(host="127.0.0.1", port=0)
    harness.lab_cluster(pve)
    for store in pve.storages.values():
        store["total"] = 64 * 1024 * shapes.GiB
    return pve


async def _serve(time_scale: float, certfile: str, keyfile: str) -> None:
    pve = make_pve()
    pve.time_scale = time_scale
    await pve.start(certfile, keyfile)
    print(pve.url, flush=True)
    await asyncio.Event().wait()


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.pve")
    parser.add_argument("--time-scale", type=float, default=0.0)
    parser.add_argument("--cert", required=True)
    parser.add_argument("--key", required=True)
    args = parser.parse_args()
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(_serve(args.time_scale, args.cert, args.key))


class PveServer:
    """``with PveServer(time_scale) as pve:`` — a served BenchPve in a child process;
    ``endpoint``, ``ca_file``, ``token_id``, and ``env`` (the token's variable)."""

    def __init__(self, time_scale: float = 0.0) -> None:
        self.time_scale = time_scale
        self.dir = Path(tempfile.mkdtemp(prefix="bench-pve-"))
        self.process: subprocess.Popen[str] | None = None
        self.endpoint = ""
        harness = _harness()
        self.token_id: str = harness.TOKEN_ID
        self.env = {TOKEN_ENV: harness.TOKEN}
        from fakepve import certs
        cert, key, _ = certs.make_cert(str(self.dir), hosts=("127.0.0.1",))
        self.ca_file, self.key_file = str(cert), str(key)

    def __enter__(self) -> PveServer:
        os.environ.update(self.env)
        self.process = subprocess.Popen(
            [sys.executable, "-m", "bench.pve", "--time-scale", str(self.time_scale),
             "--cert", self.ca_file, "--key", self.key_file],
            cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        assert self.process.stdout is not None
        line = self.process.stdout.readline().strip()
        if not line.startswith("https://"):
            self.__exit__(None, None, None)
            raise RuntimeError(f"fakepve did not start (it said {line!r})")
        self.endpoint = line
        return self

    def __exit__(self, kind: type[BaseException] | None, value: BaseException | None,
                 trace: TracebackType | None) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(10)


if __name__ == "__main__":
    main()
