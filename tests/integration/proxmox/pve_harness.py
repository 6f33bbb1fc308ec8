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
import contextlib
import json
import re
import textwrap
import threading
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from fakepve import FakePve
from pve_imports import ImportsLikePve
from pve_real import rename
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
    """One stack on one fake (or on a real cluster: pve_real.py), planned and applied
    in-process.

    On a real cluster ``names`` maps the fake's names in each stack written to the
    cluster's (pve_real.names), a stack naming the fake's second node skips when the
    cluster has one, and ``clean_up`` destroys the stack after the test and fails it
    if anything of the stack is left."""

    def __init__(self, root: Path, pve: Any, cafile: str, name: str = "lab",
                 names: dict[str, str] | None = None, nodes: int = 2) -> None:
        self.root = root
        self.pve = pve
        self.cafile = cafile
        self.name = name
        self.names = names or {}
        self.nodes = nodes
        self.root.mkdir(parents=True, exist_ok=True)

    @property
    def real(self) -> bool:
        return bool(getattr(self.pve, "real", False))

    def block(self, **settings: Any) -> str:
        values = {"type": "proxmox", "endpoint": self.pve.url,
                  "token_id": getattr(self.pve, "token_id", TOKEN_ID),
                  "token_secret": f"${{env.{TOKEN_ENV}}}", "ca_file": str(self.cafile) or None,
                  "retry_timeout": 5, **settings}
        return "{ " + ", ".join(f"{k}: {_yaml(v)}" for k, v in values.items()
                                if v is not None) + " }"

    def write(self, body: str, **settings: Any) -> Stack:
        text = f"apiVersion: provisioner/v1\nstack: {self.name}\nproviders:\n" \
               f"  pve: {self.block(**settings)}\n" + textwrap.dedent(body)
        if self.real:
            if self.nodes < 2 and re.search(r"(?<![\w.-])pve2(?![\w.-])", text):
                pytest.skip("the stack uses a second node: set PROVISIONER_TEST_PVE_NODES "
                            "to two nodes of the cluster")
            text = rename(text, self.names)
        (self.root / "stack.yaml").write_text(text, encoding="utf-8")
        return load_stack(self.root / "stack.yaml")

    def clean_up(self) -> None:
        """Destroy the stack last written, then fail naming what is left (removed)."""
        if (self.root / "stack.yaml").is_file():
            with contextlib.suppress(Exception), \
                    Engine(load_stack(self.root / "stack.yaml"),
                           SQLiteStore(self.root / "state.db")) as engine:  # left: the verdict
                engine.apply(engine.plan(PlanOptions(destroy=True)), Recorder(), 8)
        left = self.pve.owned(self.name)
        if left:
            self.pve.sweep(self.name)
            still = self.pve.owned(self.name)
            pytest.fail(f"the test left on the cluster: {', '.join(left)}; removed them"
                        + (f", but these remain: {', '.join(still)}" if still else ""),
                        pytrace=False)

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


def template_vmid(lab: Lab, node: str) -> int:
    """The VMID of the lab's template (``debian-12`` on the fake) a clone on ``node``
    starts from: the one on that node, else the one anywhere (on shared storage)."""
    name, node = lab.names.get("debian-12", "debian-12"), lab.names.get(node, node)
    templates = [vm for vm in lab.pve.vms if vm.template and vm.name == name]
    on_node = [vm for vm in templates if vm.node == node]
    return int((on_node or templates)[0].vmid)


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


def main(arguments: list[str]) -> int:
    """``python pve_harness.py serve DIR [PORT] [--template NAME]`` (with tests/ and this folder on
    PYTHONPATH): serve the lab's fake cluster standalone, as a real one would be, until
    interrupted; its CA certificate goes to DIR/ca.pem, the URL is printed (the token is
    root@pam!ci, its secret ``TOKEN``; ``--template`` renames the template debian-12,
    for PROVISIONER_TEST_PVE_TEMPLATE). For trying the real-target path of the tests
    (PROVISIONER_TEST_PVE) without a real cluster: docs/testing.md."""
    import signal
    import sys

    from fakepve import certs

    template = None
    if len(arguments) > 2 and arguments[-2] == "--template":  # the lab's under another name
        template, arguments = arguments[-1], arguments[:-2]
    if len(arguments) not in (2, 3) or arguments[0] != "serve":
        print("usage: pve_harness.py serve DIR [PORT] [--template NAME]", file=sys.stderr)
        return 2
    directory = Path(arguments[1])
    directory.mkdir(parents=True, exist_ok=True)
    certfile, keyfile, _ = certs.make_cert(str(directory), hosts=("127.0.0.1",))
    (directory / "ca.pem").write_bytes(Path(str(certfile)).read_bytes())  # self-signed
    signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT, signal.SIGTERM})
    fake = TestPve(host="127.0.0.1", port=int(arguments[2]) if len(arguments) == 3 else 0)
    lab_cluster(fake)
    for vm in fake.vms:
        vm.name = template or vm.name
    served = Served(fake, str(certfile), str(keyfile))
    print(f"PVE_URL={fake.url}\nPVE_CA_FILE={directory / 'ca.pem'}", flush=True)
    try:
        signal.sigwait({signal.SIGINT, signal.SIGTERM})
    finally:
        served.stop()
    return 0


if __name__ == "__main__":
    import sys

    sys.exit(main(sys.argv[1:]))
