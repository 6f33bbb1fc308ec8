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
from pathlib import Path
from typing import Any

import pytest

from contract.targets import PROVIDER, ContractTarget, Hypervisor, KnownGap
from provisioner.errors import ProviderError, StackError
from provisioner.stack.address import Kind

TOKEN_ID = "root@pam!contract"
TOKEN_ENV = "PVE_CONTRACT_TOKEN"
os.environ.setdefault(TOKEN_ENV, "contract-token-secret")  # the fake server's token, no secret
OS_TEMPLATE = "debian-12-standard_12.7-1_amd64.tar.zst"


class ProxmoxTarget(ContractTarget):
    name = "proxmox"
    removable_option = ("description", "set by the contract suite", "")
    kinds = frozenset({Kind.POOL, Kind.GUEST})
    foreign_kinds = frozenset({Kind.GUEST})
    default_pool = "local-lvm"
    known_gaps = {
        "test_schema_serves_the_declared_kinds": KnownGap(
            "the provider serves containers too; the suite's fixtures (_theirs, "
            "sample-stack.yaml) declare none, so the target leaves them out of `kinds`",
            AssertionError),
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
