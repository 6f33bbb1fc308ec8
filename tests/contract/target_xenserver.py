"""The XenServer provider on the XAPI simulator built from XAPI's published data model.

Each test gets its own simulator (tests/support/xapi: XML-RPC over HTTPS on
127.0.0.1, the certificate verified through ``ca_file``) seeded with the
standard lab: hosts ``xcp1`` and ``xcp2``, SRs ``Local storage xcp1`` /
``xcp2`` (LVM: no online resize) and ``NFS shared`` (the pool's default, with
online resize), the network ``Pool-wide network associated with eth0``
(``xenbr0``) and the templates ``Debian Bookworm 12`` (installer) and
``debian-12-cloud`` (one 10 GiB disk on NFS).

What the hypervisor saw comes from the simulator: its record of the calls it
received (``sim.calls``: power operations) and its stored records, read
directly (``raw_state``), never from the provider's account.
"""

from __future__ import annotations

import importlib.util
import json
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from contract.honesty import FieldEdit, Power, RawFields, Watch
from contract.targets import PROVIDER, ContractTarget, Hypervisor, KnownGap
from provisioner.core.address import Kind
from provisioner.errors import StackError

PASSWORD_ENV = "XAPI_CONTRACT_PASSWORD"
os.environ.setdefault(PASSWORD_ENV, "contract-secret")  # the simulator's password, no secret
_NIC = {"host_network": "Pool-wide network associated with eth0"}
_INTERNAL = {"host_network": "Host internal management network"}
_POWER = {"start": Power.START, "start_on": Power.START, "resume": Power.START,
          "unpause": Power.START, "clean_shutdown": Power.STOP, "hard_shutdown": Power.STOP,
          "shutdown": Power.STOP, "clean_reboot": Power.REBOOT, "hard_reboot": Power.REBOOT,
          "suspend": Power.SUSPEND, "pause": Power.SUSPEND}
_EDITS = [
    FieldEdit("cpus", {"cpus": 1}, {"cpus": 2}),
    FieldEdit("memory", {"memory": "256MiB"}, {"memory": "512MiB"}),
    FieldEdit("memory", {"memory": "256MiB", "options": {"memory_max": "1GiB"}},
              {"memory": "512MiB", "options": {"memory_max": "1GiB"}}, stopped=True),
    FieldEdit("power", {}, {"power": "stopped"}),
    FieldEdit("autostart", {}, {"autostart": True}),
    FieldEdit("lifecycle.prevent_destroy", {"lifecycle": {"prevent_destroy": True}}, {}),
    FieldEdit("node", {"node": "xcp1"}, {"node": "xcp2"}),
    FieldEdit("disks", {}, {"disks": [{"size": "1GiB"}, {"size": "1GiB"}]}),
    FieldEdit("disks[0].size", {}, {"disks": [{"size": "2GiB"}]}),
    FieldEdit("disks[0].size", {"disks": [{"size": "1GiB", "pool": "Local storage xcp1"}]},
              {"disks": [{"size": "2GiB", "pool": "Local storage xcp1"}]}, stopped=True),
    FieldEdit("networks", {}, {"networks": [_NIC, _NIC]}),
    FieldEdit("networks[0].host_network", {}, {"networks": [_INTERNAL]}),
    FieldEdit("networks[0].bridge", {"networks": [{"bridge": "xenbr0"}]},
              {"networks": [{"bridge": "xenapi"}]}),
    FieldEdit("networks[0].mac", {}, {"networks": [{**_NIC, "mac": "02:16:3e:00:12:99"}]}),
    FieldEdit("options", {"options": {"platform": {"viridian": "false"}}},
              {"options": {"platform": {"viridian": "true"}}}),
    FieldEdit("options.cpus_max", {}, {"options": {"cpus_max": 4}}),
    FieldEdit("options.memory_max", {}, {"options": {"memory_max": "1GiB"}}),
    FieldEdit("options.memory_min", {"options": {"memory_max": "1GiB"}},
              {"options": {"memory_max": "1GiB", "memory_min": "128MiB"}}),
    FieldEdit("options.boot_order", {}, {"options": {"boot_order": "dc"}}),
    FieldEdit("options.xenstore_data", {}, {"options": {"xenstore_data": {"vm-data/a": "1"}}}),
    FieldEdit("options.description", {"options": {"description": "one"}},
              {"options": {"description": "two"}}),
    FieldEdit("options.tags", {"options": {"tags": ["a"]}}, {"options": {"tags": ["a", "b"]}}),
    FieldEdit("options.full_copy", {}, {"options": {"full_copy": True}}),
]
_RAW_FIELDS = RawFields((
    (r"VCPUs_max", ("cpus", "options.cpus_max")), (r"VCPUs_at_startup", "cpus"),
    (r"memory_static_max", ("memory", "options.memory_max")),
    (r"memory_dynamic_max", "memory"),
    (r"memory_(static|dynamic)_min", ("memory", "options.memory_min")),
    (r"power_state", "power"), (r"affinity", "node"), (r"resident_on", ("power", "node")),
    (r"other_config\.auto_poweron", "autostart"),
    (r"other_config\.provisioner:.*", None),
    (r"tags", "options.tags"), (r"name_description", "options.description"),
    (r"platform\..*", ("options", "options.platform")),
    (r"HVM_boot_params\.order", "options.boot_order"),
    (r"HVM_boot_params\.firmware", "options.firmware"),
    (r"xenstore_data\..*", "options.xenstore_data"),
    (r"disk\[\d+\]", "disks"), (r"drive", "cloud_init"), (r"vif\[\d+\]", "networks"),
))


class XenServerTarget(ContractTarget):
    name = "xenserver"
    kinds = frozenset({Kind.GUEST})
    foreign_kinds = frozenset({Kind.GUEST})
    removable_option = ("description", "set by the contract suite", "")
    default_pool = "NFS shared"
    field_edits = _EDITS
    raw_fields = _RAW_FIELDS
    known_gaps = {
        "test_failed_create_leaves_nothing_behind[xenserver-attached-volume-not-created]":
            KnownGap("the provider serves no volumes: the stack is refused before any create",
                     StackError),
    }

    def missing(self) -> str | None:
        if importlib.util.find_spec("XenAPI") is None:
            return "XenAPI is not installed: pip install 'provisioner[xenserver]'"
        return None

    def open(self, request: pytest.FixtureRequest, workdir: Path) -> Hypervisor:
        from support.xapi import XapiSimulator

        sim = XapiSimulator(users={"root": (os.environ[PASSWORD_ENV], "pool-admin")})
        sim.start()
        sim.seed_lab()
        return XenServerHypervisor(self, workdir, sim)

    def unreachable_block(self) -> dict[str, Any]:
        return {"type": "xenserver", "url": "https://nonexistent.invalid",
                "username": "root", "password": f"${{env.{PASSWORD_ENV}}}",
                "timeout": 2, "retry_timeout": 0}

    def honest_base(self, kind: Kind) -> dict[str, Any]:
        return self.small_guest(power="running", networks=[_NIC])

    def sample_sections(self) -> dict[str, Any]:
        return {"guests": {"web": {
            "provider": PROVIDER, "clone": "debian-12-cloud", "cpus": 2, "memory": "512MiB",
            "disks": [{"size": "12GiB"}, {"size": "1GiB", "pool": "Local storage xcp1"}],
            "networks": [_NIC, {"bridge": "xenapi", "mac": "02:16:3e:00:12:34"}],
            "options": {"description": "the contract suite's sample", "tags": ["web"],
                        "memory_max": "1GiB"},
        }}}


class XenServerHypervisor(Hypervisor):
    """One simulator for one test."""

    def __init__(self, target: ContractTarget, workdir: Path, sim: Any) -> None:
        super().__init__(target, workdir)
        self.sim = sim

    def provider_block(self) -> dict[str, Any]:
        return {"type": "xenserver", "url": self.sim.url, "username": "root",
                "password": f"${{env.{PASSWORD_ENV}}}", "ca_file": self.sim.ca_file,
                "retry_timeout": 5}

    def define_untagged(self, kind: Kind, name: str) -> None:
        if kind is Kind.GUEST:
            self.sim.add_vm(name)

    def volume_names(self) -> set[str]:
        srs = self.sim.objects("SR")
        return {f"{srs.get(vdi['SR'], {}).get('name_label', '?')}/{vdi['uuid']}"
                for vdi in self.sim.objects("VDI").values()
                if srs.get(vdi["SR"], {}).get("content_type") != "iso"}

    def definitions(self) -> str:
        texts = [json.dumps(record, default=str, sort_keys=True)
                 for cls in ("VM", "VDI", "VBD", "VIF")
                 for record in self.sim.objects(cls).values()]
        return "\n".join(texts)

    def _vm(self, name: str) -> tuple[str, dict[str, Any]]:
        found = [(ref, vm) for ref, vm in self.sim.objects("VM").items()
                 if vm.get("name_label") == name and not vm.get("is_a_template")]
        assert len(found) == 1, f"{len(found)} VMs named {name}"
        return found[0]

    def raw_state(self, kind: Kind, name: str) -> dict[str, str]:
        """The VM's record as the simulator stores it, with its disks and VIFs."""
        _ref, vm = self._vm(name)
        raw: dict[str, str] = {}
        for key in ("VCPUs_max", "VCPUs_at_startup", "memory_static_max",
                    "memory_dynamic_max", "memory_static_min", "memory_dynamic_min",
                    "power_state", "affinity", "name_description", "resident_on"):
            raw[key] = str(vm.get(key))
        raw["tags"] = ",".join(sorted(str(tag) for tag in vm.get("tags") or ()))
        for field in ("other_config", "platform", "HVM_boot_params", "xenstore_data"):
            raw |= {f"{field}.{key}": str(value) for key, value in (vm.get(field) or {}).items()}
        vbds, vdis = self.sim.objects("VBD"), self.sim.objects("VDI")
        for vbd_ref in vm.get("VBDs") or ():
            vbd = vbds[vbd_ref]
            vdi = vdis.get(vbd.get("VDI"), {})
            text = f"{vdi.get('uuid')},{vdi.get('virtual_size')},{vdi.get('SR')}"
            owner = str((vdi.get("other_config") or {}).get("provisioner:owner", ""))
            raw["drive" if "config_drive" in owner else f"disk[{vbd.get('userdevice')}]"] = text
        vifs = self.sim.objects("VIF")
        for vif_ref in vm.get("VIFs") or ():
            vif = vifs[vif_ref]
            raw[f"vif[{vif.get('device')}]"] = f"{vif.get('network')},{vif.get('MAC')}"
        return raw

    @contextmanager
    def watch(self, kind: Kind, name: str) -> Iterator[Watch]:
        ref, _vm = self._vm(name)
        start = len(self.sim.calls)
        watch = Watch()
        yield watch
        for call in self.sim.calls[start:]:
            parts = call.method.split(".")
            if parts[0] == "Async":
                parts = parts[1:]
            if len(parts) == 2 and parts[0] == "VM" and call.args and call.args[0] == ref:
                power = _POWER.get(parts[1])
                if power is not None:
                    watch.power.append(power)

    def close(self) -> None:
        super().close()
        self.sim.stop()
