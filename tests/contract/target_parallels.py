"""The Parallels Desktop provider on the fake prlctl (tests/support/parallels).

Each test gets its own fake Mac: executables ``prlctl`` and ``prlsrvctl`` in the
test's directory with their JSON state (networks Shared, Host-Only, the
host-only network ``lab`` and the bridge ``en0``). What the hypervisor saw comes
from the fake: the commands it was given (``calls.jsonl``: power operations)
and its stored VMs, read directly (``raw_state``), never from the provider's
account.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from contract.honesty import FieldEdit, Power, RawFields, Watch
from contract.targets import PROVIDER, ContractTarget, Hypervisor, KnownGap
from provisioner.core.address import Kind
from provisioner.errors import StackError

_SHARED = {"host_network": "shared"}
_EDITS = [
    FieldEdit("cpus", {"cpus": 1}, {"cpus": 2}),
    FieldEdit("memory", {"memory": "256MiB"}, {"memory": "512MiB"}),
    FieldEdit("power", {}, {"power": "stopped"}),
    FieldEdit("autostart", {}, {"autostart": True}),
    FieldEdit("lifecycle.prevent_destroy", {"lifecycle": {"prevent_destroy": True}}, {}),
    FieldEdit("disks", {}, {"disks": [{"size": "1GiB"}, {"size": "1GiB"}]}),
    FieldEdit("disks[0].size", {}, {"disks": [{"size": "2GiB"}]}),
    FieldEdit("disks[0].size", {}, {"disks": [{"size": "2GiB"}]}, stopped=True),
    FieldEdit("networks", {}, {"networks": [_SHARED, {"host_network": "host:lab"}]}),
    FieldEdit("networks[0].host_network", {}, {"networks": [{"host_network": "host"}]}),
    FieldEdit("networks[0].bridge", {"networks": [{"bridge": "en0"}]},
              {"networks": [{"bridge": "Default"}]}),
    FieldEdit("networks[0].mac", {}, {"networks": [{**_SHARED, "mac": "02:16:3e:00:12:99"}]}),
    FieldEdit("networks[0].model", {"networks": [{**_SHARED, "model": "e1000"}]},
              {"networks": [{**_SHARED, "model": "virtio"}]}),
    FieldEdit("options.distribution", {}, {"options": {"distribution": "debian"}}),
]
_RAW_FIELDS = RawFields((
    (r"cpus", "cpus"), (r"memory", "memory"), (r"state", "power"),
    (r"autostart", "autostart"), (r"os", "options.distribution"), (r"description", None),
    (r"hdd\d+", "disks"), (r"cdrom\d+", "cloud_init"), (r"net\d+", "networks"),
))
_POWER = {"start": Power.START, "stop": Power.STOP, "resume": Power.START}


class ParallelsTarget(ContractTarget):
    name = "parallels"
    kinds = frozenset({Kind.GUEST})
    foreign_kinds = frozenset({Kind.GUEST})
    removable_option = ("distribution", "debian", "linux")
    default_pool = "default"
    field_edits = _EDITS
    raw_fields = _RAW_FIELDS
    known_gaps = {
        "test_failed_create_leaves_nothing_behind[parallels-attached-volume-not-created]":
            KnownGap("the provider serves no volumes: the stack is refused before any create",
                     StackError),
    }

    def open(self, request: pytest.FixtureRequest, workdir: Path) -> Hypervisor:
        from support.parallels.install import FakeParallels

        return ParallelsHypervisor(self, workdir, FakeParallels(workdir / "mac"))

    def unreachable_block(self) -> dict[str, Any]:
        return {"type": "parallels", "prlctl": "/nonexistent/prlctl", "retry_timeout": 0}

    def honest_base(self, kind: Kind) -> dict[str, Any]:
        return self.small_guest(power="running", networks=[_SHARED])

    def sample_sections(self) -> dict[str, Any]:
        return {"guests": {"web": {
            "provider": PROVIDER, "cpus": 2, "memory": "512MiB",
            "disks": [{"size": "2GiB"}, {"size": "1GiB"}],
            "networks": [_SHARED, {"host_network": "host:lab", "mac": "02:16:3e:00:12:34"}],
            "options": {"distribution": "debian"},
        }}}


class ParallelsHypervisor(Hypervisor):
    """One fake Mac for one test."""

    def __init__(self, target: ContractTarget, workdir: Path, fake: Any) -> None:
        super().__init__(target, workdir)
        self.fake = fake

    def provider_block(self) -> dict[str, Any]:
        return {"type": "parallels", "prlctl": str(self.fake.program),
                "shutdown_timeout": 2, "retry_timeout": 1}

    def define_untagged(self, kind: Kind, name: str) -> None:
        if kind is Kind.GUEST:
            self.fake.add_vm(name)

    def volume_names(self) -> set[str]:
        return {f"default/{device['image']}" for vm in self.fake.load()["vms"].values()
                for key, device in vm["devices"].items() if key.startswith("hdd")}

    def definitions(self) -> str:
        return json.dumps(self.fake.load(), sort_keys=True)

    def raw_state(self, kind: Kind, name: str) -> dict[str, str]:
        vm = self.fake.vm(name)
        raw = {key: str(vm[key]) for key in ("cpus", "memory", "state", "autostart", "os",
                                             "description")}
        raw |= {key: json.dumps(device, sort_keys=True)
                for key, device in vm["devices"].items()}
        return raw

    @contextmanager
    def watch(self, kind: Kind, name: str) -> Iterator[Watch]:
        start = len(self.fake.calls())
        watch = Watch()
        yield watch
        for argv in self.fake.calls()[start:]:
            if len(argv) > 1 and argv[1] == name and argv[0] in _POWER:
                watch.power.append(_POWER[argv[0]])
