"""A real Proxmox VE cluster in place of fakepve (``PROVISIONER_TEST_PVE``, see
tests/support/real_hosts.py and docs/testing.md).

``RealPve`` answers, through the API, the looks the tests take at the fake that
a real cluster can answer too: ``url``, ``vms`` and ``cts`` (each with
``vmid``, ``name``, ``node``, ``template``, ``config`` and ``pending``),
``tasklog`` (``type`` and ``id`` of the nodes' tasks, oldest first) and
``storages`` (id → its config and ``volumes``). What only the fake has (its
request log, fault injection, seeding) it lacks: the tests that use those are
marked ``simulator_only``.

``NAMES`` maps the names the lab's stacks use (the fake's: nodes ``pve1`` and
``pve2``, template ``debian-12``, storage ``local-lvm``, bridge ``vmbr0``) to the
real cluster's, from the variables; ``Lab.write`` applies it to each stack.

Leftovers: ``owned(stack)`` lists the guests tagged ``provisioner.STACK``, the
storages named ``STACK_...`` and the image volumes named ``STACK_...`` that a
stack of the run left; ``sweep`` removes them.
"""

from __future__ import annotations

import json
import re
import ssl
import time
import urllib.parse
import urllib.request
from dataclasses import dataclass
from typing import Any

from support.real_hosts import PveTarget

SIMULATOR_NAMES = {"template": "debian-12", "node1": "pve1", "node2": "pve2",
                   "storage": "local-lvm", "bridge": "vmbr0",
                   "os_template": "local:vztmpl/debian-12-standard_12.7-1_amd64.tar.zst"}


class RealPveError(RuntimeError):
    pass


@dataclass
class RealGuest:
    """A VM or container as the API shows it (config and pending read when asked)."""

    api: RealPve
    kind: str  # qemu or lxc
    vmid: int
    name: str
    node: str
    template: bool
    tags: str

    @property
    def status(self) -> str:
        current = self.api.get(f"/nodes/{self.node}/{self.kind}/{self.vmid}/status/current")
        return str(current.get("status", ""))

    @property
    def lock(self) -> str | None:
        return self.config.get("lock")

    @property
    def config(self) -> dict[str, Any]:
        return dict(self.api.get(f"/nodes/{self.node}/{self.kind}/{self.vmid}/config"))

    @property
    def pending(self) -> dict[str, Any]:
        items = self.api.get(f"/nodes/{self.node}/{self.kind}/{self.vmid}/pending")
        return {i["key"]: i.get("pending") for i in items if "pending" in i or i.get("delete")}


class RealPve:
    """Read-only looks at a real cluster, shaped like the fake's attributes."""

    real = True

    def __init__(self, target: PveTarget) -> None:
        self.target = target
        self.url = target.url
        self.token_id = target.token_id
        self._context = ssl.create_default_context(cafile=target.ca_file)
        self.before = {t["upid"] for t in self._tasks()}
        """The tasks the cluster had when the test began: ``tasklog`` leaves them out
        (VMIDs are given out again; an earlier guest's tasks are not this one's)."""

    def _tasks(self) -> list[dict[str, Any]]:
        return [t for node in self.nodes
                for t in self.get(f"/nodes/{node}/tasks", limit=1000, source="all")]

    # -- the API ----------------------------------------------------------------------

    def call(self, method: str, path: str, **params: Any) -> Any:
        query = urllib.parse.urlencode(params)
        url = f"{self.url}/api2/json{path}"
        data = None
        if method == "GET" and query:
            url += "?" + query
        elif query:
            data = query.encode()
        request = urllib.request.Request(url, data=data, method=method, headers={
            "Authorization": f"PVEAPIToken={self.token_id}={self.target.token_secret}"})
        try:
            with urllib.request.urlopen(request, context=self._context, timeout=30) as answer:
                return json.load(answer).get("data")
        except urllib.error.HTTPError as error:
            raise RealPveError(f"{method} {path}: HTTP {error.code} {error.reason}") from None

    def get(self, path: str, **params: Any) -> Any:
        return self.call("GET", path, **params)

    def wait(self, node: str, upid: str, timeout: float = 300) -> None:
        deadline = time.monotonic() + timeout
        quoted = urllib.parse.quote(upid, safe="")
        while time.monotonic() < deadline:
            status = self.get(f"/nodes/{node}/tasks/{quoted}/status")
            if status.get("status") == "stopped":
                return
            time.sleep(0.5)
        raise RealPveError(f"task {upid} did not end in {timeout:.0f} s")

    # -- the fake's looks -------------------------------------------------------------

    @property
    def nodes(self) -> list[str]:
        return sorted(n["node"] for n in self.get("/nodes"))

    def _guests(self, kind: str) -> list[RealGuest]:
        return [RealGuest(self, kind, int(r["vmid"]), str(r.get("name", "")), r["node"],
                          bool(r.get("template")), str(r.get("tags", "")))
                for r in self.get("/cluster/resources", type="vm") if r.get("type") == kind]

    @property
    def vms(self) -> list[RealGuest]:
        return self._guests("qemu")

    @property
    def cts(self) -> list[RealGuest]:
        return self._guests("lxc")

    @property
    def tasklog(self) -> list[dict[str, Any]]:
        tasks = [t for t in self._tasks() if t["upid"] not in self.before]
        return sorted(tasks, key=_started)

    @property
    def storages(self) -> dict[str, dict[str, Any]]:
        found: dict[str, dict[str, Any]] = {}
        for config in self.get("/storage"):
            entry = dict(config)
            entry["volumes"] = {}
            for node in self.nodes:
                try:
                    content = self.get(f"/nodes/{node}/storage/{config['storage']}/content")
                except RealPveError:
                    continue  # not on this node, or not active there
                for volume in content or []:
                    entry["volumes"][volume["volid"].split(":", 1)[1]] = volume
            found[config["storage"]] = entry
        return found

    # -- leftovers --------------------------------------------------------------------

    def owned(self, stack: str) -> list[str]:
        """What ``stack`` left: its guests, storages and image volumes."""
        tag = f"provisioner.{stack}"
        found = [f"{g.kind} {g.vmid} ({g.name}) on {g.node}" for g in [*self.vms, *self.cts]
                 if tag in re.split(r"[;, ]", g.tags)]
        for sid, storage in self.storages.items():
            if sid.startswith(f"{stack}_"):
                found.append(f"storage {sid}")
            found += [f"volume {sid}:{name}" for name in storage["volumes"]
                      if name.split("/")[-1].startswith(f"{stack}_")]
        return found

    def sweep(self, stack: str) -> None:
        """Remove what ``stack`` left (best effort, with the API directly)."""
        tag = f"provisioner.{stack}"
        for guest in [*self.vms, *self.cts]:
            if tag not in re.split(r"[;, ]", guest.tags):
                continue
            base = f"/nodes/{guest.node}/{guest.kind}/{guest.vmid}"
            try:
                if self.get(f"{base}/status/current").get("status") == "running":
                    self.wait(guest.node, self.call("POST", f"{base}/status/stop"))
                self.wait(guest.node, self.call("DELETE", base, purge=1))
            except RealPveError:
                continue
        for sid, storage in self.storages.items():
            for name, volume in storage["volumes"].items():
                if name.split("/")[-1].startswith(f"{stack}_"):
                    for node in self.nodes:
                        try:
                            self.call("DELETE", f"/nodes/{node}/storage/{sid}/content/"
                                      + urllib.parse.quote(volume["volid"], safe=""))
                        except RealPveError:
                            continue
            if sid.startswith(f"{stack}_"):
                try:
                    self.call("DELETE", f"/storage/{sid}")
                except RealPveError:
                    continue


def _started(task: dict[str, Any]) -> tuple[int, int]:
    """When a task started: its start time, then its process's start (UPID:node:pid:
    pstart:...) for tasks of the same second."""
    parts = str(task.get("upid", "")).split(":")
    pstart = int(parts[3], 16) if len(parts) > 3 and parts[3] else 0
    return int(task.get("starttime", 0)), pstart


def names(target: PveTarget) -> dict[str, str]:
    """The fake's names → the real cluster's (only those that differ)."""
    real = {"template": target.template, "storage": target.storage, "bridge": target.bridge,
            "os_template": target.os_template,
            "node1": target.nodes[0] if target.nodes else "pve1",
            "node2": target.nodes[1] if len(target.nodes) > 1 else "pve2"}
    return {SIMULATOR_NAMES[key]: value for key, value in real.items()
            if value != SIMULATOR_NAMES[key]}


def rename(text: str, mapping: dict[str, str]) -> str:
    """``text`` with each whole name of ``mapping`` (not part of a longer name) replaced."""
    if not mapping:
        return text
    names = sorted(mapping, key=len, reverse=True)  # the longest first
    pattern = re.compile(r"(?<![\w.-])(" + "|".join(map(re.escape, names)) + r")(?![\w.-])")
    return pattern.sub(lambda m: mapping[m.group(1)], text)
