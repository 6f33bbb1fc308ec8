"""fakepve for the Proxmox integration tests, and stacks driven through the engine.

``TestPve`` is fakepve (AGPL, test-only) with what its QEMU side lacks, as
real Proxmox does it: ``PUT .../qemu/{vmid}/resize`` changes the disk's size
(fakepve answers it without changing anything), and two scenario hooks,
``steal`` (another client takes a VMID between our check and our create) and
``linger`` (a clone's config lock outlives its task). ``node_sizes`` gives
nodes their own CPUs and memory (fakepve reports 4 CPUs and 8GiB for every
node). It is served on its own
event loop in a thread, as fakepve's pytest plugin does.

``Lab`` is one stack directory on one fake: write its file, plan, apply,
re-plan through ``Engine`` with its own SQLite state.
"""

from __future__ import annotations

import asyncio
import json
import re
import textwrap
import threading
from pathlib import Path
from typing import Any

from aiohttp import web
from fakepve import FakePve
from pve_imports import ImportsLikePve
from support.plans import actions, failures, field_changes  # noqa: F401  (re-exported)
from support.pve_hotplug import hotplug_like_pve

from provisioner.apply.executor import ApplyResult
from provisioner.apply.progress import CollectingProgress as Recorder
from provisioner.engine import Engine
from provisioner.plan.model import Plan
from provisioner.plan.planner import PlanOptions
from provisioner.stack.loader import Stack, load_stack
from provisioner.state.local import SQLiteStore

TOKEN_ID = "root@pam!ci"
TOKEN_ENV = "PVE_TEST_TOKEN"
TOKEN = "integration-token-secret"
OS_TEMPLATE = "debian-12-standard_12.7-1_amd64.tar.zst"
GIB = 1024**3
_UNITS = {"": 1, "K": 1024, "M": 1024**2, "G": GIB, "T": 1024**4}


class TestPve(ImportsLikePve, FakePve):  # type: ignore[misc]
    """fakepve plus a working QEMU disk resize and two race scenarios."""

    __test__ = False

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._record_init()
        self.steal: set[int] = set()
        """VMIDs another client takes just before our create of them arrives."""
        self.linger = 0.0
        """PVE seconds a clone stays locked after its task ended."""
        self._cloning: int | None = None
        self.node_sizes: dict[str, tuple[int, int]] = {}
        """Node → (CPUs, memory in bytes), for nodes of different sizes."""

    async def _nodes(self, request: Any) -> Any:
        return self._sized(await super()._nodes(request))

    async def _resources(self, request: Any) -> Any:
        return self._sized(await super()._resources(request))

    def _sized(self, response: Any) -> Any:
        if not self.node_sizes:
            return response
        body = json.loads(response.body)
        for item in body["data"] or []:
            size = self.node_sizes.get(item.get("node", ""))
            if item.get("type") == "node" and "maxmem" in item and size is not None:
                item["maxcpu"], item["maxmem"] = size
                item["mem"] = min(item.get("mem", 0), size[1] // 4)
        return web.json_response(body)

    def _routes_qemu_resize(self) -> list[tuple[str, str, Any]]:
        return [("PUT", "/nodes/{node}/qemu/{vmid}/resize", self._qm_resize)]

    async def _qm_resize(self, v: dict[str, Any], user: str) -> Any:
        vm = self.find(v["node"], v["vmid"])
        self.need_quorum()
        self._check_lock(vm)
        disk, size = v["disk"], str(v["size"])
        if disk not in vm.config:
            raise self._die(f"disk '{disk}' does not exist")
        volume, *props = str(vm.config[disk]).split(",")
        current = dict(p.split("=", 1) for p in props if "=" in p)
        have = _bytes(current.get("size", volume.split(":")[-1] + "G"))
        want = have + _bytes(size[1:]) if size.startswith("+") else _bytes(size)
        if want < have:
            raise self._die("shrinking disks is not supported")

        async def body() -> None:
            current["size"] = _size_text(want)
            vm.config[disk] = ",".join([volume, *(f"{k}={w}" for k, w in current.items())])
        return await self.task(vm.node, "resize", vm.vmid, user, body, vm=vm)

    @staticmethod
    def _die(message: str) -> Exception:
        from fakepve.model import PveError
        return PveError(500, message)  # type: ignore[no-any-return]

    async def _qm_create(self, v: dict[str, Any], user: str) -> Any:
        self._take(int(v["vmid"]))
        return await super()._qm_create(v, user)

    async def _qm_clone(self, v: dict[str, Any], user: str) -> Any:
        self._take(int(v["newid"]))
        self._cloning = int(v["newid"])
        return await super()._qm_clone(v, user)

    async def task(self, node: str, ttype: str, tid: Any, user: str, body: Any,
                   **kwargs: Any) -> Any:
        """With ``linger``, a clone task locks its new VM again as it ends."""
        vmid = self._cloning
        if ttype != "qmclone" or not self.linger or vmid is None:
            return await super().task(node, ttype, tid, user, body, **kwargs)
        self._cloning = None

        async def lingering() -> Any:
            note = await body()
            self.snapshot_lock(vmid, "clone")
            asyncio.get_running_loop().call_later(self.linger * (self.time_scale or 0.01),
                                                  self.unlock, vmid)
            return note
        return await super().task(node, ttype, tid, user, lingering, **kwargs)

    def _take(self, vmid: int) -> None:
        if vmid in self.steal:
            self.steal.discard(vmid)
            self.add_vm(vmid, f"stolen-{vmid}", config={"memory": 128})


class Served:
    """A fake served on a private event loop in a daemon thread."""

    def __init__(self, pve: TestPve, certfile: str, keyfile: str) -> None:
        self.pve = pve
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()
        self.call(pve.start(certfile, keyfile))

    def call(self, coroutine: Any) -> Any:
        return asyncio.run_coroutine_threadsafe(coroutine, self.loop).result(30)

    def run(self, coroutine: Any) -> Any:
        """Run one of the fake's scenario coroutines (``pve.backup(...)``) on its loop."""
        return self.call(coroutine)

    def stop(self) -> None:
        try:
            self.call(self.pve.stop())
        finally:
            self.loop.call_soon_threadsafe(self.loop.stop)
            self.thread.join(30)


def lab_cluster(pve: TestPve) -> None:
    """Two nodes, a template named debian-12 on each, an OS template, snippets; running
    VMs take NIC and disk changes live, as Proxmox VE does (support/pve_hotplug.py)."""
    hotplug_like_pve(pve)
    pve.apitokens[TOKEN_ID] = TOKEN
    pve.add_node("pve2")
    for vmid, node in ((9000, "pve1"), (9001, "pve2")):
        pve.add_vm(vmid, "debian-12", node=node, template=True, config={
            "scsi0": f"local-lvm:base-{vmid}-disk-0,size=2G", "scsihw": "virtio-scsi-single",
            "net0": f"virtio=BC:24:11:00:00:{vmid % 100:02X},bridge=vmbr0",
            "memory": 1024, "cores": 1, "ostype": "l26", "agent": "1"})
    pve.store_file("local", OS_TEMPLATE, 100 * 1024**2, content="vztmpl")
    pve.storages["local"]["content"] = "iso,vztmpl,backup,snippets"
    pve.storages["local"].setdefault("volumes", {})["snippets/web.yaml"] = {
        "content": "snippets", "format": "raw", "size": 300, "ctime": 0}




class Lab:
    """One stack on one fake, planned and applied in-process."""

    def __init__(self, root: Path, pve: TestPve, cafile: str, name: str = "lab") -> None:
        self.root = root
        self.pve = pve
        self.cafile = cafile
        self.name = name
        self.root.mkdir(parents=True, exist_ok=True)

    def block(self, **settings: Any) -> str:
        values = {"type": "proxmox", "endpoint": self.pve.url, "token_id": TOKEN_ID,
                  "token_secret": f"${{env.{TOKEN_ENV}}}", "ca_file": str(self.cafile),
                  "retry_timeout": 5, **settings}
        return "{ " + ", ".join(f"{k}: {_yaml(v)}" for k, v in values.items()
                                if v is not None) + " }"

    def write(self, body: str, **settings: Any) -> Stack:
        text = f"apiVersion: provisioner/v1\nstack: {self.name}\nproviders:\n" \
               f"  pve: {self.block(**settings)}\n" + textwrap.dedent(body)
        (self.root / "stack.yaml").write_text(text, encoding="utf-8")
        return load_stack(self.root / "stack.yaml")

    def engine(self, body: str, **settings: Any) -> Engine:
        """An engine with its own store on the lab's state file (closing it closes both)."""
        return Engine(self.write(body, **settings), SQLiteStore(self.root / "state.db"))

    def apply(self, body: str, parallelism: int = 8, **settings: Any) -> tuple[Plan, ApplyResult]:
        with self.engine(body, **settings) as engine:
            plan = engine.plan()
            result = engine.apply(plan, Recorder(), parallelism)
        return plan, result

    def plan(self, body: str, options: PlanOptions | None = None, **settings: Any) -> Plan:
        with self.engine(body, **settings) as engine:
            return engine.plan(options)


def task_types(pve: TestPve, vmid: int) -> list[str]:
    """The types of the tasks run for a guest, oldest first."""
    return [t["type"] for t in pve.tasklog if t["id"] == str(vmid)]


def guest(pve: TestPve, name: str) -> Any:
    found = [g for g in [*pve.vms, *pve.cts] if g.name == name or
             g.config.get("hostname") == name]
    assert len(found) == 1, [g.vmid for g in found]
    return found[0]


def _yaml(value: Any) -> str:
    if isinstance(value, str):
        return '"' + value.replace('"', '\\"') + '"' if re.search(r"[:{}\[\],#$]", value) \
            else value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list):
        return "[" + ", ".join(_yaml(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{ " + ", ".join(f"{k}: {_yaml(v)}" for k, v in value.items()) + " }"
    return str(value)


def _bytes(text: str) -> int:
    match = re.fullmatch(r"(\d+(?:\.\d+)?)([KMGT]?)", text.strip())
    assert match, text
    return int(float(match.group(1)) * _UNITS[match.group(2)])


def _size_text(size: int) -> str:
    for unit in ("T", "G", "M", "K"):
        if size % _UNITS[unit] == 0:
            return f"{size // _UNITS[unit]}{unit}"
    return str(size)
