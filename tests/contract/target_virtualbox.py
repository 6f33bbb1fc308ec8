"""The VirtualBox provider on the fake VBoxManage (tests/support/vbox).

Each test gets its own fake host: an executable ``VBoxManage`` in the test's
directory with its JSON state (host-only interface ``vboxnet0``, bridges
``eth0`` and ``eth1``). What the hypervisor saw comes from the fake: the
commands it was given (``calls.jsonl``: power operations) and its stored VMs
and media, read directly (``raw_state``), never from the provider's account.
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

_NAT = {"host_network": "nat"}
_EDITS = [
    FieldEdit("cpus", {"cpus": 1}, {"cpus": 2}),
    FieldEdit("memory", {"memory": "256MiB"}, {"memory": "512MiB"}),
    FieldEdit("power", {}, {"power": "stopped"}),
    FieldEdit("autostart", {}, {"autostart": True}),
    FieldEdit("lifecycle.prevent_destroy", {"lifecycle": {"prevent_destroy": True}}, {}),
    FieldEdit("disks", {}, {"disks": [{"size": "1GiB"}, {"size": "1GiB"}]}),
    FieldEdit("disks[0].size", {}, {"disks": [{"size": "2GiB"}]}),
    FieldEdit("disks[0].size", {}, {"disks": [{"size": "2GiB"}]}, stopped=True),
    FieldEdit("networks", {}, {"networks": [_NAT, {"host_network": "intnet:lab"}]}),
    FieldEdit("networks[0].host_network", {}, {"networks": [{"host_network": "intnet:lab"}]}),
    FieldEdit("networks[0].bridge", {"networks": [{"bridge": "eth0"}]},
              {"networks": [{"bridge": "eth1"}]}),
    FieldEdit("networks[0].forwards", {},
              {"networks": [{**_NAT, "forwards": [{"host": 2222, "guest": 22}]}]}),
    FieldEdit("networks[0].mac", {}, {"networks": [{**_NAT, "mac": "02:16:3e:00:12:99"}]}),
    FieldEdit("networks[0].model", {"networks": [{**_NAT, "model": "e1000"}]},
              {"networks": [{**_NAT, "model": "virtio"}]}),
    FieldEdit("options.firmware", {}, {"options": {"firmware": "efi"}}),
    FieldEdit("options.ostype", {}, {"options": {"ostype": "Debian_64"}}),
]
_RAW_FIELDS = RawFields((
    (r"cpus", "cpus"), (r"memory", "memory"), (r"state", "power"),
    (r"autostart", "autostart"), (r"firmware", "options.firmware"),
    (r"ostype", "options.ostype"), (r"extradata\..*", None), (r"groups", None),
    (r"disk\[\d+\]", "disks"), (r"dvd", "cloud_init"), (r"nic\[\d+\].*", "networks"),
))
_POWER = {"startvm": Power.START, "poweroff": Power.STOP, "acpipowerbutton": Power.STOP,
          "resume": Power.START}


class VirtualBoxTarget(ContractTarget):
    name = "virtualbox"
    kinds = frozenset({Kind.GUEST})
    foreign_kinds = frozenset({Kind.GUEST})
    removable_option = ("firmware", "efi", "bios")
    default_pool = "default"
    field_edits = _EDITS
    raw_fields = _RAW_FIELDS
    known_gaps = {
        "test_failed_create_leaves_nothing_behind[virtualbox-attached-volume-not-created]":
            KnownGap("the provider serves no volumes: the stack is refused before any create",
                     StackError),
    }

    def open(self, request: pytest.FixtureRequest, workdir: Path) -> Hypervisor:
        from support.vbox import FakeVBox

        return VirtualBoxHypervisor(self, workdir, FakeVBox(workdir / "vbox"))

    def unreachable_block(self) -> dict[str, Any]:
        return {"type": "virtualbox", "vboxmanage": "/nonexistent/VBoxManage",
                "retry_timeout": 0}

    def honest_base(self, kind: Kind) -> dict[str, Any]:
        return self.small_guest(power="running", networks=[_NAT])

    def sample_sections(self) -> dict[str, Any]:
        return {"guests": {"web": {
            "provider": PROVIDER, "cpus": 2, "memory": "512MiB",
            "disks": [{"size": "2GiB"}, {"size": "1GiB"}],
            "networks": [{**_NAT, "forwards": [{"host": 2222, "guest": 22}]},
                         {"host_network": "intnet:lab", "mac": "02:16:3e:00:12:34"}],
            "options": {"ostype": "Debian_64"},
        }}}


class VirtualBoxHypervisor(Hypervisor):
    """One fake VirtualBox host for one test."""

    def __init__(self, target: ContractTarget, workdir: Path, fake: Any) -> None:
        super().__init__(target, workdir)
        self.fake = fake

    def provider_block(self) -> dict[str, Any]:
        return {"type": "virtualbox", "vboxmanage": str(self.fake.program),
                "shutdown_timeout": 5, "retry_timeout": 1}

    def define_untagged(self, kind: Kind, name: str) -> None:
        if kind is Kind.GUEST:
            self.fake.add_vm(name)

    def volume_names(self) -> set[str]:
        return {f"default/{medium['location']}" for medium in self.fake.load()["hdds"].values()}

    def definitions(self) -> str:
        return json.dumps(self.fake.load(), sort_keys=True)

    def raw_state(self, kind: Kind, name: str) -> dict[str, str]:
        vm = self.fake.vm(name)
        hdds = self.fake.load()["hdds"]
        raw = {key: str(vm[key]) for key in ("cpus", "memory", "state", "autostart",
                                             "firmware", "ostype")}
        raw["groups"] = ",".join(vm["groups"])
        raw |= {f"extradata.{key}": value for key, value in vm["extradata"].items()}
        for attached in vm["attachments"]:
            if attached["type"] == "dvddrive":
                raw["dvd"] = attached["medium"]
            else:
                medium = hdds.get(attached["medium"], {})
                raw[f"disk[{attached['port']}]"] = f"{attached['medium']},{medium.get('capacity')}"
        for slot, nic in vm["nics"].items():
            raw[f"nic[{slot}]"] = json.dumps(nic, sort_keys=True)
        return raw

    @contextmanager
    def watch(self, kind: Kind, name: str) -> Iterator[Watch]:
        start = len(self.fake.calls())
        watch = Watch()
        yield watch
        for argv in self.fake.calls()[start:]:
            if len(argv) > 1 and argv[1] == name:
                power = _POWER.get(argv[0]) or (_POWER.get(argv[2])
                                                if argv[0] == "controlvm" else None)
                if power is not None:
                    watch.power.append(power)
