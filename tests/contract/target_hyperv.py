"""The Hyper-V provider on the fake PowerShell (tests/support/hyperv).

Each test gets its own fake host: an executable ``pwsh`` in the test's directory
with its JSON state (switches ``Default Switch`` and ``External``). What the
hypervisor saw comes from the fake: the scripts it was given (``calls.jsonl``:
power cmdlets) and its stored VMs and VHDs, read directly (``raw_state``), never
from the provider's account.
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

_SWITCH = {"host_network": "Default Switch"}
_EDITS = [
    FieldEdit("cpus", {"cpus": 1}, {"cpus": 2}),
    FieldEdit("memory", {"memory": "256MiB"}, {"memory": "512MiB"}),
    FieldEdit("power", {}, {"power": "stopped"}),
    FieldEdit("lifecycle.prevent_destroy", {"lifecycle": {"prevent_destroy": True}}, {}),
    FieldEdit("disks", {}, {"disks": [{"size": "1GiB"}, {"size": "1GiB"}]}),
    FieldEdit("disks[0].size", {}, {"disks": [{"size": "2GiB"}]}),
    FieldEdit("disks[0].size", {}, {"disks": [{"size": "2GiB"}]}, stopped=True),
    FieldEdit("networks", {}, {"networks": [_SWITCH, {"host_network": "External"}]}),
    FieldEdit("networks[0].host_network", {}, {"networks": [{"host_network": "External"}]}),
    FieldEdit("networks[0].mac", {}, {"networks": [{**_SWITCH, "mac": "00:15:5d:00:12:99"}]}),
    FieldEdit("options.secure_boot", {}, {"options": {"secure_boot": "linux"}}),
    FieldEdit("options.dynamic_memory", {}, {"options": {"dynamic_memory": True}}),
    FieldEdit("options.memory_maximum", {"options": {"dynamic_memory": True}},
              {"options": {"dynamic_memory": True, "memory_maximum": "1GiB"}}),
]
_RAW_FIELDS = RawFields((
    (r"ProcessorCount", "cpus"), (r"MemoryStartup", "memory"), (r"State", "power"),
    (r"DynamicMemoryEnabled|MemoryMinimum|MemoryMaximum", "options"),
    (r"SecureBoot.*", "options.secure_boot"), (r"Notes", None),
    (r"disk\[\d+\]", "disks"), (r"dvd\[\d+\]", "cloud_init"), (r"nic\[.*", "networks"),
))
_POWER = {"Start-VM": Power.START, "Resume-VM": Power.START, "Stop-VM": Power.STOP}


class HyperVTarget(ContractTarget):
    name = "hyperv"
    kinds = frozenset({Kind.GUEST})
    foreign_kinds = frozenset({Kind.GUEST})
    removable_option = ("secure_boot", "linux", "off")
    default_pool = "default"
    field_edits = _EDITS
    raw_fields = _RAW_FIELDS
    known_gaps = {
        "test_failed_create_leaves_nothing_behind[hyperv-attached-volume-not-created]":
            KnownGap("the provider serves no volumes: the stack is refused before any create",
                     StackError),
    }

    def open(self, request: pytest.FixtureRequest, workdir: Path) -> Hypervisor:
        from support.hyperv.install import FakeHyperV

        return HyperVHypervisor(self, workdir, FakeHyperV(workdir / "hyperv"))

    def unreachable_block(self) -> dict[str, Any]:
        return {"type": "hyperv", "powershell": "/nonexistent/pwsh"}

    def honest_base(self, kind: Kind) -> dict[str, Any]:
        return self.small_guest(power="running", networks=[_SWITCH])

    def sample_sections(self) -> dict[str, Any]:
        return {"guests": {"web": {
            "provider": PROVIDER, "cpus": 2, "memory": "512MiB",
            "disks": [{"size": "2GiB"}, {"size": "1GiB"}],
            "networks": [_SWITCH, {"host_network": "External", "mac": "00:15:5d:00:12:34"}],
            "options": {"secure_boot": "linux"},
        }}}


class HyperVHypervisor(Hypervisor):
    """One fake Hyper-V host for one test."""

    def __init__(self, target: ContractTarget, workdir: Path, fake: Any) -> None:
        super().__init__(target, workdir)
        self.fake = fake

    def provider_block(self) -> dict[str, Any]:
        return {"type": "hyperv", "powershell": str(self.fake.program), "shutdown_timeout": 2}

    def define_untagged(self, kind: Kind, name: str) -> None:
        if kind is Kind.GUEST:
            self.fake.add_vm(name)

    def volume_names(self) -> set[str]:
        return {f"default/{path}" for path in self.fake.load()["vhds"]}

    def definitions(self) -> str:
        return json.dumps(self.fake.load(), sort_keys=True)

    def raw_state(self, kind: Kind, name: str) -> dict[str, str]:
        vm = self.fake.vm(name)
        vhds = self.fake.load()["vhds"]
        raw = {key: str(vm[key]) for key in (
            "ProcessorCount", "MemoryStartup", "State", "DynamicMemoryEnabled",
            "MemoryMinimum", "MemoryMaximum", "SecureBoot", "SecureBootTemplate", "Notes")}
        for index, drive in enumerate(vm["HardDrives"]):
            raw[f"disk[{index}]"] = f"{drive['Path']},{vhds.get(drive['Path'], {}).get('Size')}"
        for index, drive in enumerate(vm["DvdDrives"]):
            raw[f"dvd[{index}]"] = str(drive["Path"])
        for adapter in vm["NetworkAdapters"]:
            raw[f"nic[{adapter['Name']}]"] = json.dumps(adapter, sort_keys=True)
        return raw

    @contextmanager
    def watch(self, kind: Kind, name: str) -> Iterator[Watch]:
        from support.hyperv.syntax import parse

        start = len(self.fake.scripts())
        watch = Watch()
        yield watch
        vm_id = self.fake.vm(name)["Id"]
        for script in self.fake.scripts()[start:]:
            for statement in parse(script).statements:
                first, last = statement.stages[0], statement.stages[-1]
                if first.params.get("Id") == vm_id and last.cmdlet in _POWER:
                    watch.power.append(_POWER[last.cmdlet])
