"""A guest's life on a VMware desktop host: apply, a clean re-plan, changes while it is
stopped (in place) and while it runs (a restart), a disk grown, destroy. Runs on the
fake vmrun, or on the real VMware PROVISIONER_TEST_VMWARE_DESKTOP names; what the host
was asked is checked in the fake's command log where the fake runs."""

from __future__ import annotations

from typing import Any

import pytest
from support.vmware_desktop import FakeVmware
from vmware_lab import Lab

pytestmark = pytest.mark.integration


def _guest(**fields: Any) -> dict[str, Any]:
    guest: dict[str, Any] = {
        "cpus": 1, "memory": "256MiB", "disks": [{"size": "1GiB"}, {"size": "512MiB"}],
        "networks": [{"host_network": "nat"}, {"host_network": "hostonly", "model": "vmxnet3"}],
        "cloud_init": {"user_data": "#cloud-config\nhostname: app\n"}, "power": "stopped",
    }
    guest.update(fields)
    return guest


def test_apply_replan_change_and_destroy(host: Lab) -> None:
    host.put(app=_guest())
    host.applied()
    host.clean()

    host.put(app=_guest(cpus=2, disks=[{"size": "2GiB"}, {"size": "512MiB"}]))
    _plan, text = host.planned()
    assert "cpus" in text and "disks[0].size" in text and "requires restart" not in text, text
    host.applied()
    host.clean()

    host.put(app=_guest(cpus=2, disks=[{"size": "2GiB"}], power="running"))
    host.applied()
    host.clean()
    host.put()
    host.applied()
    host.clean()


@pytest.mark.simulator_only("reads the fake's command log")
def test_a_running_guest_restarts_only_when_the_plan_says_so(lab: Lab, fake: FakeVmware) -> None:
    lab.put(app=_guest(power="running"))
    lab.applied()
    path = str(fake.vmx_path("app"))

    lab.put(app=_guest(power="running", lifecycle={"prevent_destroy": True}))
    _plan, text = lab.planned()
    assert "requires restart" not in text, text
    start = len(fake.calls())
    lab.applied()
    assert [argv[0] for argv in fake.calls()[start:] if argv[0] != "list"] == ["writeVariable"]
    assert fake.running("app")

    lab.put(app=_guest(power="running", cpus=2, lifecycle={"prevent_destroy": True}))
    _plan, text = lab.planned()
    assert "requires restart" in text, text
    start = len(fake.calls())
    lab.applied()
    powered = [argv[:3] for argv in fake.calls()[start:] if argv[0] in ("start", "stop")]
    assert powered == [["stop", path, "soft"], ["start", path, "nogui"]], powered
    assert fake.vmx("app")["numvcpus"] == "2" and fake.running("app")
    assert "prevent_destroy" in fake.vmx("app")["guestinfo.provisioner.owner"]  # kept
    lab.put(app=_guest(power="running", cpus=2))
    lab.applied()
    lab.clean()


@pytest.mark.simulator_only("reads the fake's files")
def test_what_vmware_and_users_add_to_the_vmx_survives_an_edit(lab: Lab,
                                                                fake: FakeVmware) -> None:
    lab.put(app=_guest())
    lab.applied()
    vmx = fake.vmx_path("app")
    vmx.write_text(vmx.read_text(encoding="utf-8") + 'tools.syncTime = "TRUE"\n'
                   'sharedFolder0.hostPath = "/home/ana/shared |22 files"\n', encoding="utf-8")
    lab.put(app=_guest(memory="512MiB", networks=[{"host_network": "vmnet3"}]))
    lab.applied()
    entries = fake.vmx("app")
    assert (entries["memsize"], entries["ethernet0.vnet"]) == ("512", "vmnet3")
    assert entries["tools.synctime"] == "TRUE" and "ethernet1.present" not in entries
    assert entries["sharedfolder0.hostpath"] == "/home/ana/shared |22 files"
    lab.clean()


@pytest.mark.simulator_only("reads the fake's files")
def test_destroy_leaves_no_vm_disk_or_folder(lab: Lab, fake: FakeVmware) -> None:
    lab.put(app=_guest(power="running"), db=_guest(networks=[]))
    lab.applied()
    assert fake.names() == ["app", "db"] and len(list(fake.basefolder.glob("*/*.vmdk"))) == 4
    lab.put()
    lab.applied()
    assert list(fake.basefolder.iterdir()) == [] and fake.load()["running"] == {}


@pytest.mark.simulator_only("checks the files with this machine's qemu-img")
def test_qemu_img_makes_the_disks_and_a_grow_is_refused_at_plan_time(
        lab: Lab, fake: FakeVmware) -> None:
    import json
    import shutil
    import subprocess

    tool = shutil.which("qemu-img")
    if tool is None:
        pytest.skip("qemu-img is not installed")
    lab.settings["disk_tool"] = tool
    lab.put(app=_guest())
    lab.applied()
    lab.clean()
    for disk, size in (("app-disk0.vmdk", 1024**3), ("app-disk1.vmdk", 512 * 1024**2)):
        info = json.loads(subprocess.run([tool, "info", "--output=json",
                                          str(fake.basefolder / "app" / disk)],
                                         capture_output=True, check=True).stdout)
        assert (info["format"], info["virtual-size"]) == ("vmdk", size)
    lab.put(app=_guest(disks=[{"size": "2GiB"}, {"size": "512MiB"}]))
    result = lab.cli("plan")
    assert result.returncode == 1 and "qemu-img cannot grow a vmdk disk" in result.stdout + \
        result.stderr, result.stdout + result.stderr
