"""Parsing what Hyper-V prints, against transcripts (tests/unit/hyperv_transcripts,
README there: none was captured on a real host): the inventory JSON, one VM, and the
error records PowerShell writes, turned into the provider's errors."""

from __future__ import annotations

from pathlib import Path

import pytest

from provisioner.core.address import Address
from provisioner.errors import ObjectNotFoundError
from provisioner.providers.hyperv.listing import parse_inventory, parse_vms
from provisioner.providers.hyperv.powershell import fault, message_of
from provisioner.providers.hyperv.read import live_object
from provisioner.providers.kit.commands import Completed
from provisioner.providers.kit.marker import Marker

pytestmark = pytest.mark.unit
TRANSCRIPTS = Path(__file__).parent / "hyperv_transcripts"


def _text(name: str) -> str:
    return (TRANSCRIPTS / name).read_text(encoding="utf-8")


def test_the_inventory_of_windows_powershell_5_1() -> None:
    read = parse_inventory(_text("inventory-ws2022-ps51.json"))
    assert (read.host.cpus, read.host.memory, read.host.vm_path) == (16, 64 * 2**30,
                                                                      "D:\\Hyper-V")
    assert read.switches == {"Default Switch": "Internal"}  # one object, not a list
    web, legacy = read.vms
    assert (web.id, web.state, web.running, web.generation) == (
        "5c1e2d3f-0a1b-4c2d-8e3f-112233445566", "Running", True, 2)
    assert (web.dynamic_memory, web.memory_minimum, web.memory_maximum) == (
        True, 512 * 2**20, 2 * 2**30)
    assert (legacy.state, legacy.running, len(legacy.disks)) == ("Off", False, 1)
    assert legacy.disks[0].controller == "IDE" and legacy.dvds[0].path == ""


def test_a_running_generation_2_guest_as_the_planner_sees_it() -> None:
    web = parse_inventory(_text("inventory-ws2022-ps51.json")).vms[0]
    live = live_object(web, Marker("lab", "hv", Address.parse("guests.web-0")), "hv")
    assert [disk["size"] for disk in live.spec["disks"]] == [10 * 2**30, 5 * 2**30]  # by slot
    assert live.spec["networks"][0]["host_network"] == "Default Switch"
    assert live.spec["networks"][0]["mac"] is None  # dynamic: whatever Hyper-V gives
    assert live.attributes["macs"] == ["00:15:5d:0a:1b:2c"]
    assert live.spec["options"] == {"generation": 2, "secure_boot": "linux",
                                    "dynamic_memory": True, "memory_minimum": 512 * 2**20,
                                    "memory_maximum": 2 * 2**30}
    assert live.spec["power"] == "running" and live.spec["cloud_init"] is not None


def test_one_vm_with_enums_as_strings_and_a_static_mac() -> None:
    (vm,) = parse_vms(_text("vm-one-pwsh74-enums-as-strings.json"))
    assert (vm.state, vm.running, vm.cpus) == ("Off", False, 4)
    live = live_object(vm, Marker("lab", "hv", Address.parse("guests.web-0")), "hv")
    assert live.spec["networks"][0]["mac"] == "02:16:3e:00:12:34"
    assert live.spec["options"]["secure_boot"] == "off"


def test_a_vm_that_is_gone_reads_as_nothing() -> None:
    assert parse_vms("") == [] and parse_vms("[]\r\n") == []


@pytest.mark.parametrize(("name", "expected", "gone"), [
    ("error-get-vm-not-found-ps51.txt",
     'Get-VM: Hyper-V was unable to find a virtual machine with name "minikube".', True),
    ("error-set-vmmemory-running-ps51.txt",
     "Set-VMMemory: Failed to modify device 'Memory'. 'Win10Ent2019LTSC_GOLD' failed to "
     "modify device 'Memory'. (Virtual machine ID A93E429E-52FF-4879-8699-B58F9CEC4E55)",
     False),
    ("error-concise-pwsh7.txt", 'Get-VM: Hyper-V was unable to find a virtual machine with '
     'ID "0b6e7a52-0000-4000-a000-000000000000".', True),
])
def test_error_records_become_the_cmdlets_message(name: str, expected: str, gone: bool) -> None:
    done = Completed(("pwsh",), 1, "", _text(name))
    assert message_of(done) == expected
    error = fault(done, "guests.web: VM 'web'")
    assert str(error).startswith("guests.web: VM 'web': " + expected)
    assert isinstance(error, ObjectNotFoundError) is gone
