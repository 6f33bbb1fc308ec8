"""The full lifecycle of guests on both simulators: create (from a template and empty),
re-plan without changes, update every kind of field, stop, destroy.

Each test runs once on the vCenter simulator and once on the ESXi one.
"""

from __future__ import annotations

import base64
import time

import pytest
import yaml
from support.vcsim import TEMPLATE, Simulator
from vsphere_lab import Lab, Recorder, actions, boot_time, failures, field_changes

from provisioner.errors import PlanError
from provisioner.plan.model import Action

GIB = 1024**3

LAB = """
guests:
  web:
    provider: vc
    {clone}
    cpus: {cpus}
    memory: {memory}
    disks: [ {{ size: {disk} }}{extra_disk} ]
    networks: [ {{ host_network: VM Network }} ]
    cloud_init:
      user_data: "#cloud-config\\nhostname: web\\n"
      on_change: reboot
    options: {{ notes: "{notes}", memory_hot_add: true }}
  empty:
    provider: vc
    cpus: 1
    memory: 256MiB
    power: {power}
    disks: [ {{ size: 1GiB }} ]
    networks: [ {{ host_network: VM Network }} ]
    options: {{ guest_id: debian10_64Guest }}
"""


CLONE = "clone: debian-12"
"""Only a vCenter clones: on the ESXi simulator the guest starts empty."""


def body(cpus: int = 2, memory: str = "1GiB", disk: str = "2GiB", extra_disk: str = "",
         notes: str = "web server", power: str = "running", clone: str = CLONE) -> str:
    return LAB.format(cpus=cpus, memory=memory, disk=disk, extra_disk=extra_disk, notes=notes,
                      power=power, clone=clone)


@pytest.fixture
def clone(vcsim: Simulator) -> str:
    return CLONE if vcsim.model == "vpx" else ""


@pytest.mark.simulator_only("reads the simulator's datastore files on this machine")
def test_lifecycle(lab: Lab, vcsim: Simulator, clone: str) -> None:
    baseline_files = vcsim.datastore_files()
    plan, result = lab.apply(body(clone=clone))
    assert actions(plan) == {"guests.web": Action.CREATE, "guests.empty": Action.CREATE}
    assert result.ok, failures(result)
    assert not lab.plan(body(clone=clone)).has_changes

    web = vcsim.vm("web")
    assert web.runtime.powerState == "poweredOn"
    assert (web.config.hardware.numCPU, web.config.hardware.memoryMB) == (2, 1024)
    assert web.config.annotation.startswith("web server")
    empty = vcsim.vm("empty")
    assert empty.config.guestId == "debian10_64Guest"
    assert vcsim.datastore_files() > baseline_files

    # memory grows live (hot-add), vCPUs need a restart, a disk grows and one is added
    booted = boot_time(vcsim, "web")
    bigger = body(cpus=3, memory="2GiB", disk="4GiB", extra_disk=", { size: 1GiB }",
                  notes="the web server", clone=clone)
    plan = lab.plan(bigger)
    assert field_changes(plan) == {"guests.web": [
        ("cpus", "requires restart"), ("memory", "in place"), ("disks[0].size", "in place"),
        ("disks[1]", "in place"), ("options.notes", "in place")]}
    _, result = lab.apply(bigger)
    assert result.ok, failures(result)
    web = vcsim.vm("web")
    assert (web.config.hardware.numCPU, web.config.hardware.memoryMB) == (3, 2048)
    sizes = sorted(d.capacityInBytes for d in web.config.hardware.device
                   if type(d).__name__.endswith("VirtualDisk"))
    assert sizes == [GIB, 4 * GIB]
    assert web.runtime.powerState == "poweredOn"
    assert boot_time(vcsim, "web") != booted, "vCPUs were added without a restart"
    assert not lab.plan(bigger).has_changes

    # stop one, then destroy everything: the datastores are as they were
    stopped = body(cpus=3, memory="2GiB", disk="4GiB", extra_disk=", { size: 1GiB }",
                   notes="the web server", power="stopped", clone=clone)
    assert field_changes(lab.plan(stopped)) == {"guests.empty": [("power", "in place")]}
    _, result = lab.apply(stopped)
    assert result.ok, failures(result)
    assert vcsim.vm("empty").runtime.powerState == "poweredOff"
    assert not lab.plan(stopped).has_changes

    result = lab.destroy(stopped)
    assert result.ok, failures(result)
    assert not vcsim.vms("web") and not vcsim.vms("empty")
    assert vcsim.datastore_files() == baseline_files
    assert actions(lab.plan(stopped)) == {"guests.web": Action.CREATE,
                                          "guests.empty": Action.CREATE}


def test_shrinking_a_disk_is_refused_at_plan_time(lab: Lab, vcsim: Simulator,
                                                  clone: str) -> None:
    _, result = lab.apply(body(disk="4GiB", clone=clone))
    assert result.ok, failures(result)
    with pytest.raises(PlanError) as refused:
        lab.plan(body(disk="3GiB", clone=clone))
    assert "guests.web: disks[0].size can only grow (4GiB -> 3GiB)" in str(refused.value)


def test_cpus_without_hot_add_restart_the_guest_and_with_it_do_not(
    lab: Lab, vcsim: Simulator
) -> None:
    """The simulator would reconfigure a running VM without hot-add; vCenter refuses:
    the provider powers it off itself."""
    plain = """
    guests:
      app: {{ provider: vc, cpus: {cpus}, memory: 256MiB, disks: [ {{ size: 1GiB }} ],
             options: {{ cpu_hot_add: {hot} }} }}
    """
    _, result = lab.apply(plain.format(cpus=1, hot="false"))
    assert result.ok, failures(result)
    booted = boot_time(vcsim, "app")

    plan = lab.plan(plain.format(cpus=2, hot="false"))
    assert field_changes(plan) == {"guests.app": [("cpus", "requires restart")]}
    _, result = lab.apply(plain.format(cpus=2, hot="false"))
    assert result.ok, failures(result)
    assert boot_time(vcsim, "app") != booted, "vCPUs were added without hot-add, live"
    assert vcsim.vm("app").runtime.powerState == "poweredOn"

    # turning hot-add on needs the guest off once; from then on vCPUs are added live
    _, result = lab.apply(plain.format(cpus=2, hot="true"))
    assert result.ok, failures(result)
    booted = boot_time(vcsim, "app")
    plan = lab.plan(plain.format(cpus=4, hot="true"))
    assert field_changes(plan) == {"guests.app": [("cpus", "in place")]}
    _, result = lab.apply(plain.format(cpus=4, hot="true"))
    assert result.ok, failures(result)
    assert boot_time(vcsim, "app") == booted, "the guest was restarted"
    assert vcsim.vm("app").config.hardware.numCPU == 4


def test_cloud_init_reaches_guestinfo_and_a_change_reboots(lab: Lab, vcsim: Simulator,
                                                          clone: str) -> None:
    _, result = lab.apply(body(clone=clone))
    assert result.ok, failures(result)
    extra = {o.key: o.value for o in vcsim.vm("web").config.extraConfig}
    assert base64.b64decode(extra["guestinfo.userdata"]) == b"#cloud-config\nhostname: web\n"
    assert extra["guestinfo.userdata.encoding"] == "base64"
    metadata = yaml.safe_load(base64.b64decode(extra["guestinfo.metadata"]))
    assert metadata["local-hostname"] == "web"
    first_id = metadata["instance-id"]

    changed = body(clone=clone).replace("hostname: web", "hostname: www")
    plan = lab.plan(changed)
    assert field_changes(plan) == {"guests.web": [("cloud_init.user_data", "requires restart")]}
    booted = boot_time(vcsim, "web")
    _, result = lab.apply(changed)
    assert result.ok, failures(result)
    assert boot_time(vcsim, "web") != booted, "cloud-init's new data needs a reboot"
    extra = {o.key: o.value for o in vcsim.vm("web").config.extraConfig}  # the last one wins
    assert yaml.safe_load(base64.b64decode(extra["guestinfo.metadata"]))["instance-id"] != \
        first_id
    assert not lab.plan(changed).has_changes


def test_changes_made_outside_show_as_drift(lab: Lab, vcsim: Simulator, clone: str) -> None:
    _, result = lab.apply(body(clone=clone))
    assert result.ok, failures(result)
    from pyVmomi import vim

    vcsim.wait(vcsim.vm("web").ReconfigVM_Task(spec=vim.vm.ConfigSpec(numCPUs=4)))
    plan = lab.plan(body(clone=clone))
    assert [(f.path, f.before, f.after) for f in plan.changes[0].fields] == [("cpus", 4, 2)]


def test_the_template_is_never_touched(lab: Lab, vcsim_vpx: Simulator) -> None:
    before = vcsim_vpx.vm(TEMPLATE).config.hardware.device
    _, result = lab.apply(body())
    assert result.ok, failures(result)
    assert vcsim_vpx.vm(TEMPLATE).config.template
    assert len(vcsim_vpx.vm(TEMPLATE).config.hardware.device) == len(before)


@pytest.mark.simulator_only(
    "tells the simulator's VMware Tools the guest's address (SET.guest.ipAddress)")
def test_wait_for_ip_waits_for_vmware_tools_to_report_one(lab: Lab, vcsim: Simulator) -> None:
    """The simulator reports a guest address once it is told one (as VMware Tools do)."""
    import threading

    from pyVmomi import vim

    stack = """
    guests:
      app: { provider: vc, memory: 256MiB, disks: [ { size: 1GiB } ],
             networks: [ { host_network: VM Network } ], wait_for: ip, wait_timeout: 20 }
    """

    def report_address() -> None:
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            found = vcsim.vms("app")
            if found and found[0].runtime.powerState == "poweredOn":
                spec = vim.vm.ConfigSpec(extraConfig=[vim.option.OptionValue(
                    key="SET.guest.ipAddress", value="10.42.0.7")])
                vcsim.wait(found[0].ReconfigVM_Task(spec=spec))
                return
            time.sleep(0.05)

    tools = threading.Thread(target=report_address)
    tools.start()
    with lab.engine(stack) as engine:
        result = engine.apply(engine.plan(), Recorder(), 4)
    tools.join()
    assert result.ok, failures(result)
    (step,) = result.results
    assert step.live is not None and step.live.attributes["ip"] == "10.42.0.7"


@pytest.mark.simulator_only(
    "counts on the simulator's VMware Tools reporting no address for a guest without a NIC")
def test_wait_for_ip_times_out_naming_the_guest(lab: Lab, vcsim: Simulator) -> None:
    stack = """
    guests:
      app: { provider: vc, memory: 256MiB, disks: [ { size: 1GiB } ], wait_for: ip,
             wait_timeout: 1 }
    """
    _, result = lab.apply(stack)
    assert failures(result) == ["VM 'app': no IP address after 1s (wait_for: ip)"]
