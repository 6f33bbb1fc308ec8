"""Every .vmx the provider writes, read by another program's VMX parser: libvirt's VMware
driver (``vmwarews:///session``, in libvirt itself, no daemon) turns a .vmx into domain
XML with ``domainXMLFromNative("vmware-vmx", ...)``, written independently from VMware's
documents. It must read back the vCPUs, memory, firmware, disks (controller, unit, file),
NIC models and static MACs meant, and the display name through VMX's ``|22`` escaping.

libvirt opens the connection only with ``vmrun`` and ``vmware`` on the PATH, ``vmware -v``
naming a Workstation version: two stand-ins here. Its parser is the ESX one: a bridged or
custom NIC needs ``ethernetN.networkName`` (an ESX key Workstation does not write),
added to the copy it reads, and it refuses ``connectionType = "hostonly"``, which the
guests here do not use."""

from __future__ import annotations

import os
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import pytest
from support.vmware_desktop import FakeVmware
from vmware_lab import Lab

from provisioner.providers.vmware_desktop.vmx import Vmx

pytestmark = [pytest.mark.integration,
              pytest.mark.simulator_only("reads the fake's files with libvirt")]
libvirt = pytest.importorskip("libvirt")

GUESTS: dict[str, dict[str, Any]] = {
    "web": {"cpus": 2, "memory": "512MiB", "disks": [{"size": "1GiB"}, {"size": "2GiB"}],
            "networks": [{"host_network": "nat", "model": "vmxnet3",
                          "mac": "00:50:56:00:aa:01"},
                         {"host_network": "vmnet2", "model": "e1000e"}],
            "options": {"guest_os": "debian12-64", "firmware": "efi"}, "power": "stopped"},
    "db": {"cpus": 4, "memory": "1GiB", "disks": [{"size": "1GiB"}],
           "networks": [{"host_network": "bridged", "mac": "00:50:56:3f:00:02"}],
           "options": {"disk_bus": "sata", "firmware": "bios"}, "power": "stopped"},
}


@pytest.fixture
def connection(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Any:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for name, text in (("vmrun", "Total running VMs: 0"),
                       ("vmware", "VMware Workstation 17.5.0 build-22583795")):
        (bin_dir / name).write_text(f"#!/bin/sh\necho '{text}'\n", encoding="utf-8")
        (bin_dir / name).chmod(0o755)
    monkeypatch.setenv("PATH", f"{bin_dir}:{os.environ['PATH']}")
    try:
        opened = libvirt.open("vmwarews:///session")
    except libvirt.libvirtError as exc:
        pytest.skip(f"libvirt's VMware driver does not open here: {exc}")
    yield opened
    opened.close()


def _as_libvirt_reads_it(path: Path) -> str:
    vmx = Vmx.parse(path.read_text(encoding="utf-8"))
    for index in range(10):
        kind = (vmx.get(f"ethernet{index}.connectionType") or "").lower()
        if kind in ("bridged", "custom"):
            vmx[f"ethernet{index}.networkName"] = vmx.get(f"ethernet{index}.vnet") or "bridged"
    return vmx.text()


def test_libvirt_reads_back_what_every_written_vmx_means(lab: Lab, fake: FakeVmware,
                                                         connection: Any) -> None:
    lab.put(**{name: dict(spec) for name, spec in GUESTS.items()})
    lab.applied()
    for name in ("web", "db"):
        path = fake.vmx_path(name)
        domain = ET.fromstring(connection.domainXMLFromNative("vmware-vmx",
                                                              _as_libvirt_reads_it(path), 0))
        spec = GUESTS[name]
        assert domain.findtext("name") == name
        assert int(domain.findtext("vcpu") or 0) == spec["cpus"]
        memory = domain.find("memory")
        assert memory is not None and memory.get("unit") == "KiB"
        assert int(memory.text or 0) * 1024 == {"512MiB": 512, "1GiB": 1024}[spec["memory"]] \
            * 1024**2
        os_element = domain.find("os")
        assert os_element is not None
        assert os_element.get("firmware") == ("efi" if spec["options"]["firmware"] == "efi"
                                              else None)
        bus = spec["options"].get("disk_bus", "scsi")
        disks = sorted(((d.find("target").get("bus"), d.find("address").get("unit"),  # type: ignore[union-attr]
                         d.find("source").get("file"))  # type: ignore[union-attr]
                        for d in domain.iter("disk")), key=lambda d: int(d[1] or 0))
        assert disks == [(bus, str(unit), f"{name}-disk{index}.vmdk")
                         for index, unit in enumerate(range(len(spec["disks"])))]
        nics = [(n.find("model").get("type"),  # type: ignore[union-attr]
                 n.find("mac").get("address") if n.find("mac") is not None else None)  # type: ignore[union-attr]
                for n in domain.iter("interface")]
        assert [model for model, _mac in nics] == [nic.get("model", "e1000")
                                                   for nic in spec["networks"]]
        for (_model, mac), nic in zip(nics, spec["networks"], strict=True):
            if "mac" in nic:
                assert mac == nic["mac"]


def test_libvirt_unescapes_what_the_writer_escapes(tmp_path: Path, connection: Any) -> None:
    vmx = Vmx({"config.version": "8", "virtualHW.version": "19", "memsize": "256",
               "numvcpus": "1", "displayName": 'Ana"s lab | #1', "guestOS": "other"})
    domain = ET.fromstring(connection.domainXMLFromNative("vmware-vmx", vmx.text(), 0))
    assert domain.findtext("name") == 'Ana"s lab | #1'
