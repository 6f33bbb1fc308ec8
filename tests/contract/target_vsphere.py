"""The vSphere provider on the vCenter/ESXi simulator built from Debian's govmomi.

Two targets: ``vsphere-vpx`` (a vCenter: ownership in a custom attribute,
guests in cluster DC0_C0) and ``vsphere-esx`` (a standalone ESXi host:
ownership in the notes). Each uses the session's simulator of its model
(``support.vcsim``) and resets it when a test ends, so every test starts from
the same inventory: the simulator's own untagged VMs, the template
``debian-12``, the folders ``lab`` and ``lab/web``, the pool ``lab``.
"""

from __future__ import annotations

import base64
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, ClassVar

import pytest
from support.vcsim import Simulator, missing, session_simulator

from contract.honesty import FieldEdit, Power, RawFields, Watch
from contract.targets import PROVIDER, ContractTarget, Hypervisor, KnownGap
from provisioner.core.address import Kind
from provisioner.errors import StackError

_GAPS = {
    "test_user_data_stays_out_of_definitions_and_live_objects": KnownGap(
        "cloud-init reaches a vSphere guest through guestinfo.userdata, which is part of the "
        "VM's configuration (readable with the VM's read privilege), by design of VMware's "
        "datasource; live objects and plans still carry only the digest (integration tests)",
        AssertionError),
}


def _gaps(name: str) -> dict[str, KnownGap]:
    volume_case = f"test_failed_create_leaves_nothing_behind[{name}-attached-volume-not-created]"
    return {**_GAPS, volume_case: KnownGap(
        "the provider serves no volumes: the stack is refused before any create", StackError)}


_POWER_METHODS = {"PowerOnVM_Task": Power.START, "PowerOffVM_Task": Power.STOP,
                  "ShutdownGuest": Power.STOP, "RebootGuest": Power.REBOOT,
                  "ResetVM_Task": Power.REBOOT, "SuspendVM_Task": Power.SUSPEND,
                  "StandbyGuest": Power.SUSPEND}
_NIC = {"host_network": "VM Network"}
_NO_AUTOSTART = "refused at plan time: the provider sets no per-VM startup policy"
_COMMON_EDITS = [
    FieldEdit("cpus", {"cpus": 1}, {"cpus": 2}),
    FieldEdit("cpus", {"cpus": 1, "options": {"cpu_hot_add": True}},
              {"cpus": 2, "options": {"cpu_hot_add": True}}, stopped=True),
    FieldEdit("memory", {"memory": "256MiB"}, {"memory": "512MiB"}),
    FieldEdit("memory", {"memory": "256MiB", "options": {"memory_hot_add": True}},
              {"memory": "512MiB", "options": {"memory_hot_add": True}}, stopped=True),
    FieldEdit("power", {}, {"power": "stopped"}),
    FieldEdit("lifecycle.prevent_destroy", {"lifecycle": {"prevent_destroy": True}}, {}),
    FieldEdit("disks", {}, {"disks": [{"size": "1GiB"}, {"size": "1GiB"}]}),
    FieldEdit("disks[0].size", {}, {"disks": [{"size": "2GiB"}]}),
    FieldEdit("networks", {}, {"networks": [_NIC, _NIC]}),
    FieldEdit("networks[0].mac", {}, {"networks": [{**_NIC, "mac": "00:50:56:00:12:99"}]}),
    FieldEdit("networks[0].model", {"networks": [{**_NIC, "model": "vmxnet3"}]},
              {"networks": [{**_NIC, "model": "e1000"}]}),
    FieldEdit("options.guest_id", {"options": {"guest_id": "otherGuest64"}},
              {"options": {"guest_id": "debian10_64Guest"}}),
    FieldEdit("options.notes", {"options": {"notes": "one"}}, {"options": {"notes": "two"}}),
    FieldEdit("options.resource_pool", {}, {"options": {"resource_pool": "lab"}}),
]
_VCENTER_EDITS = [
    FieldEdit("node", {"node": "DC0_C0_H0"}, {"node": "DC0_C0_H1"}),
    FieldEdit("networks[0].host_network", {}, {"networks": [{"host_network": "DC0_DVPG0"}]}),
    FieldEdit("options.folder", {"options": {"folder": "lab"}},
              {"options": {"folder": "lab/web"}}),
]


def _raw_fields(annotation: str | None) -> RawFields:
    """Raw keys of ``VsphereHypervisor.raw_state``; the notes are the marker on ESXi."""
    return RawFields((
        (r"numCPU", "cpus"), (r"memoryMB", "memory"),
        (r"cpuHotAddEnabled|cpuHotRemoveEnabled|memoryHotAddEnabled|guestId|firmware",
         "options"),
        (r"device\.VirtualDisk\[\d+\]|device\.\w*Controller\[\d+\]", "disks"),
        (r"device\.Virtual(E1000e?|Vmxnet3?|Vmxnet2|PCNet32|Sriov\w*)\[\d+\]", "networks"),
        (r"extraConfig\.guestinfo\..*", "cloud_init"),
        (r"annotation", annotation), (r"powerState", "power"), (r"host", "node"),
        (r"resourcePool", ("options.resource_pool", "node", "options.cluster")),
        (r"folder", "options.folder"), (r"autostart", "autostart"),
        (r"customValue|extraConfig\..*|device\..*", None),
    ))


class VsphereTarget(ContractTarget):
    model: ClassVar[str]
    kinds = frozenset({Kind.GUEST})
    removable_option = ("cpu_hot_add", True, False)
    foreign_kinds = frozenset({Kind.GUEST})
    default_pool = "LocalDS_0"

    def missing(self) -> str | None:
        return missing()

    def open(self, request: pytest.FixtureRequest, workdir: Path) -> Hypervisor:
        factory: pytest.TempPathFactory = request.getfixturevalue("tmp_path_factory")
        simulator = session_simulator(request.config, self.model,
                                      factory.getbasetemp() / "vcsim")
        return VsphereHypervisor(self, workdir, simulator)

    def unreachable_block(self) -> dict[str, Any]:
        return {"type": "vsphere", "server": "nonexistent.invalid", "username": "user",
                "password": "${env.VCSIM_PASSWORD}", "timeout": 2, "retry_timeout": 0}

    def honest_base(self, kind: Kind) -> dict[str, Any]:
        return self.small_guest(power="running", networks=[_NIC])

    def sample_sections(self) -> dict[str, Any]:
        networks: list[dict[str, Any]] = [{"host_network": "VM Network"}]
        options: dict[str, Any] = {"notes": "the contract suite's sample", "resource_pool": "lab",
                                   "guest_id": "debian10_64Guest", "cpu_hot_add": True}
        if self.model == "vpx":  # a distributed port group and a folder: vCenter only
            networks.append({"host_network": "DC0_DVPG0", "mac": "00:50:56:00:12:34"})
            options["folder"] = "lab/web"
        return {"guests": {"web": {
            "provider": PROVIDER, "cpus": 2, "memory": "512MiB",
            "disks": [{"size": "2GiB"}, {"size": "1GiB", "pool": "LocalDS_1"}],
            "networks": networks,
            "options": options,
        }}}


class VcenterTarget(VsphereTarget):
    """A vCenter: ownership in a custom attribute, guests in a cluster."""

    name = "vsphere-vpx"
    model = "vpx"
    known_gaps = _gaps(name)
    field_edits = [*_COMMON_EDITS, *_VCENTER_EDITS]
    raw_fields = _raw_fields("options.notes")
    honesty_untestable = {"guests.options.cluster": "the simulator's vCenter has one cluster",
                          "guests.autostart": _NO_AUTOSTART}


class EsxiTarget(VsphereTarget):
    """A standalone ESXi host: ownership in the notes."""

    name = "vsphere-esx"
    model = "esx"
    known_gaps = _gaps(name)
    field_edits = _COMMON_EDITS
    raw_fields = _raw_fields(None)
    honesty_untestable = {
        "guests.autostart": _NO_AUTOSTART,
        "guests.node": "a standalone ESXi host is the only host",
        "guests.options.cluster": "an ESXi host has no clusters",
        "guests.options.folder": "an ESXi host has no VM folders",
        "guests.networks[].host_network": "the simulated ESXi host has one port group",
    }


class VsphereHypervisor(Hypervisor):
    """The session's simulator of one model; reset when the test ends."""

    def __init__(self, target: ContractTarget, workdir: Path, simulator: Simulator) -> None:
        super().__init__(target, workdir)
        self.simulator = simulator

    def provider_block(self) -> dict[str, Any]:
        return self.simulator.provider_block()

    def define_untagged(self, kind: Kind, name: str) -> None:
        if kind is Kind.GUEST:
            self.simulator.make_vm(name)

    def volume_names(self) -> set[str]:
        return self.simulator.datastore_files()

    def definitions(self) -> str:
        """Every VM's name, notes, custom attributes and extraConfig (guestinfo values
        decoded, as any reader of the VM's configuration can)."""
        texts = []
        for vm in self.simulator.vms():
            config = vm.config
            texts += [vm.name, config.annotation or ""]
            texts += [str(value.value) for value in vm.customValue]
            for option in config.extraConfig:
                texts.append(f"{option.key}={option.value}")
                if str(option.key).startswith("guestinfo.") and option.value:
                    texts.append(_decoded(str(option.value)))
        return "\n".join(texts)

    def raw_state(self, kind: Kind, name: str) -> dict[str, str]:
        """The VM's configuration as the simulator stores it, read directly."""
        vm = self.simulator.vm(name)
        config = vm.config
        hardware = config.hardware
        raw = {"numCPU": str(hardware.numCPU), "memoryMB": str(hardware.memoryMB),
               "cpuHotAddEnabled": str(config.cpuHotAddEnabled),
               "cpuHotRemoveEnabled": str(config.cpuHotRemoveEnabled),
               "memoryHotAddEnabled": str(config.memoryHotAddEnabled),
               "guestId": str(config.guestId), "firmware": str(config.firmware),
               "annotation": str(config.annotation or ""),
               "powerState": str(vm.runtime.powerState), "host": str(vm.runtime.host.name),
               "resourcePool": str(vm.resourcePool.name if vm.resourcePool else None),
               "folder": str(vm.parent.name if vm.parent else None),
               "customValue": repr(sorted((v.key, v.value) for v in vm.customValue))}
        raw |= {f"extraConfig.{o.key}": str(o.value) for o in config.extraConfig}
        for device in hardware.device:
            raw[f"device.{type(device).__name__.split('.')[-1]}[{device.key}]"] = \
                _device_text(device)
        return raw

    @contextmanager
    def watch(self, kind: Kind, name: str) -> Iterator[Watch]:
        """The power methods the server is asked to run on the VM (every SOAP call of
        this process goes through pyVmomi's stub adapter)."""
        from pyVmomi import SoapAdapter

        moid = self.simulator.vm(name)._moId
        watch = Watch()
        real = SoapAdapter.SoapStubAdapter.InvokeMethod

        def invoke(stub: Any, mo: Any, info: Any, args: Any, outerStub: Any = None) -> Any:
            power = _POWER_METHODS.get(info.wsdlName)
            if power is not None and getattr(mo, "_moId", None) == moid:
                watch.power.append(power)
            return real(stub, mo, info, args, outerStub)

        SoapAdapter.SoapStubAdapter.InvokeMethod = invoke
        try:
            yield watch
        finally:
            SoapAdapter.SoapStubAdapter.InvokeMethod = real

    def close(self) -> None:
        super().close()
        self.simulator.reset()


def _device_text(device: Any) -> str:
    """What the stack can change of a device: its size, backing, MAC, slot; not its
    connection state, which follows the power state."""
    backing = device.backing
    parts = [f"capacity={getattr(device, 'capacityInKB', None)}",
             f"unit={getattr(device, 'unitNumber', None)}",
             f"controller={getattr(device, 'controllerKey', None)}",
             f"mac={getattr(device, 'macAddress', None)}",
             f"file={getattr(backing, 'fileName', None)}",
             f"network={getattr(backing, 'deviceName', None)}",
             f"port={getattr(getattr(backing, 'port', None), 'portgroupKey', None)}"]
    return ",".join(parts)


def _decoded(text: str) -> str:
    try:
        return base64.b64decode(text, validate=True).decode("utf-8", "replace")
    except ValueError:
        return text


VSPHERE_TARGETS: list[ContractTarget] = [VcenterTarget(), EsxiTarget()]
