"""The Proxmox provider on fakepve, a stateful fake of the Proxmox VE 9 API.

Each test gets its own fakepve (the plugin's ``fakepve`` fixture: a server on
127.0.0.1 with a certificate the provider verifies through ``ca_file``), one
node ``pve1`` with the storages ``local`` (dir) and ``local-lvm`` (lvmthin),
an API token, and one OS template for containers. fakepve is AGPL-licensed:
tests use it, provisioner never imports it.

The suite's fixtures declare no containers, so the target declares guests
and pools as its kinds; its samples add a container, which the create, read
back, re-create and delete tests then cover too.
"""

from __future__ import annotations

import importlib.util
import json
import os
import re
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from support.pve_hotplug import hotplug_like_pve

from contract.honesty import FieldEdit, Power, RawFields, Watch
from contract.targets import PROVIDER, ContractTarget, Hypervisor, KnownGap
from provisioner.core.address import Kind
from provisioner.errors import ProviderError, StackError

TOKEN_ID = "root@pam!contract"
TOKEN_ENV = "PVE_CONTRACT_TOKEN"
os.environ.setdefault(TOKEN_ENV, "contract-token-secret")  # the fake server's token, no secret
OS_TEMPLATE = "debian-12-standard_12.7-1_amd64.tar.zst"
RESOURCE_POOLS = ("lab", "prod")
_POWER = {"start": Power.START, "resume": Power.START, "stop": Power.STOP,
          "shutdown": Power.STOP, "reboot": Power.REBOOT, "reset": Power.REBOOT,
          "suspend": Power.SUSPEND}
_STATUS = re.compile(r"/api2/json/nodes/[^/]+/(qemu|lxc)/(\d+)/status/(\w+)")

_COMMON_EDITS = [
    ("cpus", {"cpus": 1}, {"cpus": 2}),
    ("memory", {"memory": "256MiB"}, {"memory": "512MiB"}),
    ("power", {}, {"power": "stopped"}),
    ("autostart", {}, {"autostart": True}),
    ("networks", {}, {"networks": [{"bridge": "vmbr0"}, {"bridge": "vmbr0", "vlan": 10}]}),
    ("networks[0].vlan", {}, {"networks": [{"bridge": "vmbr0", "vlan": 10}]}),
    ("networks[0].firewall", {}, {"networks": [{"bridge": "vmbr0", "firewall": True}]}),
    ("options.tags", {"options": {"tags": ["a"]}}, {"options": {"tags": ["a", "b"]}}),
    ("options.description", {"options": {"description": "one"}},
     {"options": {"description": "two"}}),
    ("options.pool", {"options": {"pool": "lab"}}, {"options": {"pool": "prod"}}),
    ("options.restart", {}, {"options": {"restart": "never"}}),
    # kept in the marker in the description (plan/protection.py): in place, no restart
    ("lifecycle.prevent_destroy", {"lifecycle": {"prevent_destroy": True}}, {}),
]
_GUEST_EDITS = [
    ("disks", {}, {"disks": [{"size": "1GiB"}, {"size": "1GiB"}]}),
    ("disks[0].size", {}, {"disks": [{"size": "2GiB"}]}),
    ("options.sockets", {}, {"options": {"sockets": 2}}),
    ("options.cloud_init", {"options": {"cloud_init": {"user": "one"}}},
     {"options": {"cloud_init": {"user": "two"}}}),
]
_CONTAINER_EDITS = [
    ("swap", {}, {"swap": "256MiB"}),
    ("rootfs.size", {}, {"rootfs": {"size": "3GiB"}}),
    ("mounts", {}, {"mounts": [{"path": "/srv", "size": "1GiB"}]}),
    ("mounts[0].size", {"mounts": [{"path": "/srv", "size": "1GiB"}]},
     {"mounts": [{"path": "/srv", "size": "2GiB"}]}),
    ("mounts[0].path", {"mounts": [{"path": "/srv", "size": "1GiB"}]},
     {"mounts": [{"path": "/data", "size": "1GiB"}]}),
    ("options.nameserver", {}, {"options": {"nameserver": "10.0.0.1"}}),
    ("options.ipconfig", {}, {"options": {"ipconfig": ["ip=10.0.0.5/24,gw=10.0.0.1"]}}),
]
_POOL_EDITS = [
    ("options.content", {}, {"options": {"content": ["images", "iso"]}}),
    ("options.shared", {}, {"options": {"shared": True}}),
    ("options.nodes", {}, {"options": {"nodes": ["pve1"]}}),
]
_RAW_FIELDS = RawFields((
    (r"storage\.content", "options.content"), (r"storage\.shared", "options.shared"),
    (r"storage\.nodes", "options.nodes"), (r"storage\.path", "path"),
    (r"storage\.type", "type"), (r"storage\..*", None),
    (r"(pending\.)?(cores)", "cpus"), (r"(pending\.)?memory", "memory"),
    (r"(pending\.)?swap", "swap"), (r"(pending\.)?sockets", "options.sockets"),
    (r"(pending\.)?onboot", "autostart"), (r"(pending\.)?tags", "options.tags"),
    (r"(pending\.)?net\d+", ("networks", "options.ipconfig")),
    (r"(pending\.)?(scsi|virtio|sata|ide)\d+|(pending\.)?unused\d+|(pending\.)?boot",
     ("disks", "options.cloud_init")),
    (r"(pending\.)?(ciuser|sshkeys|nameserver|searchdomain|cicustom|ipconfig\d+)",
     ("options.cloud_init", "options.nameserver", "options.searchdomain")),
    (r"(pending\.)?rootfs", "rootfs"), (r"(pending\.)?mp\d+", "mounts"),
    (r"pool", "options.pool"), (r"status", "power"),
    # the ownership marker lives in the description, beside options.description
    (r"description|digest", None),
))


def _edits(kind: Kind, table: list[tuple[str, dict[str, Any], dict[str, Any]]]
           ) -> list[FieldEdit]:
    return [FieldEdit(path, before, after, kind) for path, before, after in table]


class ProxmoxTarget(ContractTarget):
    name = "proxmox"
    removable_option = ("description", "set by the contract suite", "")
    kinds = frozenset({Kind.POOL, Kind.GUEST})
    foreign_kinds = frozenset({Kind.GUEST})
    default_pool = "local-lvm"
    honesty_kinds = frozenset({Kind.GUEST, Kind.CONTAINER, Kind.POOL})
    field_edits = [*_edits(Kind.GUEST, _COMMON_EDITS + _GUEST_EDITS),
                   FieldEdit("disks[0].size", {}, {"disks": [{"size": "2GiB"}]}, stopped=True),
                   *_edits(Kind.CONTAINER, _COMMON_EDITS + _CONTAINER_EDITS),
                   *_edits(Kind.POOL, _POOL_EDITS)]
    raw_fields = _RAW_FIELDS
    honesty_gaps = {
        "guests.disks[0].size": "fakepve answers a QEMU disk resize without changing the size, so "
                         "the grow is planned again (tests/integration/proxmox's TestPve "
                         "resizes: test_proxmox_honest_updates covers it there)",
    }
    known_gaps = {
        "test_user_data_stays_out_of_definitions_and_live_objects": KnownGap(
            "Proxmox's API cannot receive cloud-init files: cloud_init.user_data is refused "
            "(snippets named in options.cloud_init.custom instead)", ProviderError),
        "test_failed_create_leaves_nothing_behind[proxmox-attached-volume-not-created]":
            KnownGap("the provider serves no volumes: the stack is refused before any create",
                     StackError),
    }

    def missing(self) -> str | None:
        for module, extra in (("proxmoxer", "provisioner[proxmox]"),
                              ("fakepve", "fakepve[pytest,crypto]")):
            if importlib.util.find_spec(module) is None:
                return f"{module} is not installed: pip install '{extra}'"
        return None

    def open(self, request: pytest.FixtureRequest, workdir: Path) -> Hypervisor:
        return ProxmoxHypervisor(self, workdir, request.getfixturevalue("fakepve"),
                                 request.getfixturevalue("fakepve_cafile"))

    def unreachable_block(self) -> dict[str, Any]:
        return {"type": "proxmox", "endpoint": "https://nonexistent.invalid:8006",
                "token_id": TOKEN_ID, "token_secret": f"${{env.{TOKEN_ENV}}}",
                "timeout": 2, "retry_timeout": 1}

    def honest_base(self, kind: Kind) -> dict[str, Any]:
        if kind is Kind.POOL:
            return {"provider": PROVIDER, "path": "/srv/honest"}
        if kind is Kind.CONTAINER:
            return {"provider": PROVIDER, "template": f"local:vztmpl/{OS_TEMPLATE}",
                    "cpus": 1, "memory": "256MiB", "rootfs": {"size": "2GiB"},
                    "networks": [{"bridge": "vmbr0"}], "power": "running"}
        return self.small_guest(power="running", networks=[{"bridge": "vmbr0"}])

    def sample_sections(self) -> dict[str, Any]:
        return {
            "pools": {"images": {"provider": PROVIDER, "path": "/srv/images"}},
            "guests": {"web": {
                "provider": PROVIDER, "cpus": 2, "memory": "512MiB",
                "disks": [{"size": "2GiB"}, {"size": "1GiB", "pool": "images"}],
                "networks": [{"bridge": "vmbr0", "vlan": 10, "firewall": True}],
            }},
            "containers": {"app": {
                "provider": PROVIDER, "template": f"local:vztmpl/{OS_TEMPLATE}",
                "memory": "256MiB", "rootfs": {"size": "2GiB"},
                "networks": [{"bridge": "vmbr0"}],
            }},
        }


class ProxmoxHypervisor(Hypervisor):
    """One fakepve for one test."""

    def __init__(self, target: ContractTarget, workdir: Path, pve: Any, cafile: str) -> None:
        super().__init__(target, workdir)
        self.pve = pve
        self.cafile = cafile
        pve.apitokens[TOKEN_ID] = os.environ[TOKEN_ENV]
        pve.store_file("local", OS_TEMPLATE, 100 * 1024**2, content="vztmpl")
        local = pve.storages["local"]
        local["content"] = "iso,vztmpl,backup,snippets"
        for pool in RESOURCE_POOLS:
            pve.pools[pool] = set()
            pve.pool_info[pool] = {"comment": None, "storage": set()}
        pve.max_requests = 10**9  # watch() counts from an index into the log
        hotplug_like_pve(pve)
        self._next = 900

    def provider_block(self) -> dict[str, Any]:
        return {"type": "proxmox", "endpoint": self.pve.url, "token_id": TOKEN_ID,
                "token_secret": f"${{env.{TOKEN_ENV}}}", "ca_file": str(self.cafile),
                "retry_timeout": 5}

    def define_untagged(self, kind: Kind, name: str) -> None:
        self._next += 1
        if kind is Kind.GUEST:
            self.pve.add_vm(self._next, name, config={"memory": 128})
        elif kind is Kind.CONTAINER:
            self.pve.add_ct(self._next, name)
        elif kind is Kind.POOL:
            self.pve.storages[name] = {"type": "dir", "path": f"/srv/{name}", "active": 1,
                                       "content": "images", "files": set(), "volumes": {}}

    def volume_names(self) -> set[str]:
        return {f"{sid}/{volume}" for sid, store in self.pve.storages.items()
                for volume in store.get("volumes", {})}

    def definitions(self) -> str:
        guests = [*self.pve.vms, *self.pve.cts]
        texts = [json.dumps([g.config, g.pending], default=str) for g in guests]
        texts += [json.dumps(self.pve.storage_config(sid), default=str)
                  for sid in self.pve.storages]
        return "\n".join(texts)

    def _guest(self, kind: Kind, name: str) -> Any:
        guests = self.pve.cts if kind is Kind.CONTAINER else self.pve.vms
        found = [g for g in guests if (g.config.get("hostname") or g.name) == name]
        assert len(found) == 1, f"{len(found)} {kind.value} named {name}"
        return found[0]

    def raw_state(self, kind: Kind, name: str) -> dict[str, str]:
        if kind is Kind.POOL:
            config = self.pve.storage_config(f"{self.stack}_{name}")
            return {f"storage.{key}": str(value) for key, value in config.items()}
        guest = self._guest(kind, name)
        raw = {key: str(value) for key, value in guest.config.items()}
        raw |= {f"pending.{key}": str(value) for key, value in guest.pending.items()}
        raw |= {"status": str(guest.status),
                "pool": ",".join(sorted(p for p, members in self.pve.pools.items()
                                        if guest.vmid in members))}
        return raw

    @contextmanager
    def watch(self, kind: Kind, name: str) -> Iterator[Watch]:
        if kind is Kind.POOL:
            yield Watch()
            return
        vmid = str(self._guest(kind, name).vmid)
        start = len(self.pve.requests)
        watch = Watch()
        yield watch
        for method, path, _ in self.pve.requests[start:]:
            match = _STATUS.fullmatch(path)
            if method == "POST" and match and match.group(2) == vmid:
                watch.power.append(_POWER[match.group(3)])
