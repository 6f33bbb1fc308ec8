"""Full lifecycles through the engine: clone, configure, start, update with and without
a restart, grow, shut down, delete; for QEMU guests and LXC containers."""

from __future__ import annotations

from typing import Any

import pytest
from pve_harness import (
    Lab,
    TestPve,
    actions,
    failures,
    field_changes,
    guest,
    task_types,
    template_vmid,
)

from provisioner.plan.model import Action
from provisioner.plan.planner import PlanOptions

WEB = """
guests:
  web:
    provider: pve
    clone: debian-12
    node: {node}
    cpus: 2
    memory: {memory}
    disks: [ {{ size: {size} }} ]
    networks: [ {{ bridge: vmbr0, vlan: 20, firewall: true }} ]
    autostart: {autostart}
    power: {power}
    options:
      tags: [{tags}]
      restart: {restart}
      cloud_init:
        user: debian
        ssh_keys: ["ssh-ed25519 AAAAC3Nza me@laptop"]
        ipconfig: ["ip=10.0.0.5/24,gw=10.0.0.1"]
        nameserver: 10.0.0.1
"""


def web(node: str = "pve2", memory: str = "1GiB", size: str = "4GiB", autostart: bool = False,
        power: str = "running", tags: str = "web", restart: str = "reboot") -> str:
    return WEB.format(node=node, memory=memory, size=size, power=power, tags=tags,
                      restart=restart, autostart="true" if autostart else "false")


def test_guest_clone_update_restart_shutdown_delete(lab: Lab, pve: TestPve) -> None:
    plan, result = lab.apply(web())
    assert actions(plan) == {"guests.web": Action.CREATE}
    assert result.ok, failures(result)
    vm = guest(pve, "web")
    assert vm.node == "pve2" and vm.status == "running"
    assert vm.config["scsi0"].endswith("size=4G"), vm.config["scsi0"]
    assert "tag=20" in vm.config["net0"] and "firewall=1" in vm.config["net0"]
    assert vm.config["ciuser"] == "debian" and vm.config["ipconfig0"].startswith("ip=10.0.0.5")
    assert "provisioner.lab" in vm.config["tags"]
    assert task_types(pve, template_vmid(lab, "pve2"))[-1] == "qmclone", \
        "not cloned from the template on pve2"
    assert not lab.plan(web()).has_changes

    # in place: tags and autostart; no restart
    before = task_types(pve, vm.vmid)
    plan, result = lab.apply(web(tags="web, prod", autostart=True))
    fields = field_changes(plan)["guests.web"]
    assert {path.split("[")[0] for path, _ in fields} == {"autostart", "options.tags"}
    assert {effect for _, effect in fields} == {"in place"}
    assert result.ok, failures(result)
    assert task_types(pve, vm.vmid) == before, "an in-place change restarted the guest"
    assert not lab.plan(web(tags="web, prod", autostart=True)).has_changes

    # memory needs a restart: planned so, applied with a clean shutdown and a start
    plan = lab.plan(web(memory="2GiB", autostart=True, tags="web, prod"))
    assert field_changes(plan) == {"guests.web": [("memory", "requires restart")]}
    _, result = lab.apply(web(memory="2GiB", autostart=True, tags="web, prod"))
    assert result.ok, failures(result)
    assert task_types(pve, vm.vmid)[-2:] == ["qmshutdown", "qmstart"]
    assert vm.config["memory"] == "2048" and not vm.pending and vm.status == "running"

    # the disk grows in place, while it runs
    plan, result = lab.apply(web(memory="2GiB", size="6GiB", autostart=True, tags="web, prod"))
    assert field_changes(plan) == {"guests.web": [("disks[0].size", "in place")]}
    assert result.ok, failures(result)
    assert vm.config["scsi0"].endswith("size=6G")
    assert not lab.plan(web(memory="2GiB", size="6GiB", autostart=True,
                            tags="web, prod")).has_changes

    # shut down
    _, result = lab.apply(web(memory="2GiB", size="6GiB", autostart=True, tags="web, prod",
                              power="stopped"))
    assert result.ok and vm.status == "stopped"

    # destroyed, with its disks
    volumes = {v for s in pve.storages.values() for v in s.get("volumes", {})}
    assert any(f"vm-{vm.vmid}-" in v for v in volumes)
    with lab.engine(web()) as engine:
        assert engine.apply(engine.plan(PlanOptions(destroy=True)), _Quiet()).ok
    assert all(g.name != "web" for g in pve.vms)
    volumes = {v for s in pve.storages.values() for v in s.get("volumes", {})}
    assert not any(f"vm-{vm.vmid}-" in v for v in volumes)


@pytest.mark.simulator_only(
    "applies the guest's pending change inside the fake, as if its owner had restarted it")
def test_restart_never_leaves_the_change_pending_and_plans_it_again(
    lab: Lab, pve: TestPve
) -> None:
    assert lab.apply(web(restart="never"))[1].ok
    vm = guest(pve, "web")
    _, result = lab.apply(web(restart="never", memory="3GiB"))
    assert result.ok, failures(result)
    assert vm.pending == {"memory": "3072"} and vm.status == "running"
    assert "qmshutdown" not in task_types(pve, vm.vmid)
    plan = lab.plan(web(restart="never", memory="3GiB"))
    assert field_changes(plan) == {"guests.web": [("memory", "requires restart")]}

    # the owner restarts it: the pending value applies, nothing is left to do
    vm.apply_pending()
    assert not lab.plan(web(restart="never", memory="3GiB")).has_changes


@pytest.mark.simulator_only("sets a pending change on the guest inside the fake, as the UI would")
def test_change_proxmox_keeps_pending_is_planned_as_requires_restart(
    lab: Lab, pve: TestPve
) -> None:
    assert lab.apply(web())[1].ok
    vm = guest(pve, "web")
    vm.pending["net0"] = vm.config["net0"].replace("tag=20", "tag=30")  # set in the UI
    plan = lab.plan(web().replace("vlan: 20", "vlan: 30"))
    assert field_changes(plan) == {"guests.web": [("networks[0].vlan", "requires restart")]}
    _, result = lab.apply(web().replace("vlan: 20", "vlan: 30"))
    assert result.ok, failures(result)
    assert "tag=30" in vm.config["net0"] and not vm.pending
    assert not lab.plan(web().replace("vlan: 20", "vlan: 30")).has_changes


SCRATCH = """
pools:
  fast: {{ provider: pve, path: /srv/fast }}
guests:
  db:
    provider: pve
    node: pve1
    memory: 1GiB
    disks: [ {{ size: 8GiB }}, {{ size: 2GiB, pool: fast, format: qcow2 }}{extra} ]
    networks: [ {{ bridge: vmbr0 }} ]
    options: {{ sockets: 2, scsihw: virtio-scsi-single, cpu_type: host }}
"""


@pytest.mark.simulator_only(
    "changes the guest's hotplug option inside the fake (and makes a directory storage at "
    "/srv/fast)")
def test_guest_from_scratch_with_a_disk_on_a_pool_of_the_stack(lab: Lab, pve: TestPve) -> None:
    plan, result = lab.apply(SCRATCH.format(extra=""))
    assert result.ok, failures(result)
    assert pve.storages["lab_fast"]["path"] == "/srv/fast"
    vm = guest(pve, "db")
    assert vm.config["scsi1"].startswith("lab_fast:") and ".qcow2" in vm.config["scsi1"]
    assert str(vm.config["sockets"]) == "2" and vm.config["cpu"] == "host"
    assert not lab.plan(SCRATCH.format(extra="")).has_changes

    # a third disk is plugged into the running guest, as the plan says
    third = SCRATCH.format(extra=", { size: 1GiB, slot: virtio3 }")
    plan, result = lab.apply(third)
    assert field_changes(plan) == {"guests.db": [("disks[2]", "in place")]}
    assert result.ok, failures(result)
    assert "virtio3" in vm.config and not vm.pending
    assert "qmshutdown" not in task_types(pve, vm.vmid)
    assert not lab.plan(third).has_changes

    # removing it unplugs it; nothing of it is left
    plan, result = lab.apply(SCRATCH.format(extra=""))
    assert field_changes(plan) == {"guests.db": [("disks[2]", "in place")]}
    assert result.ok, failures(result)
    assert not any(key.startswith(("virtio3", "unused")) for key in vm.config), vm.config
    assert "qmshutdown" not in task_types(pve, vm.vmid) and not vm.pending
    assert not lab.plan(SCRATCH.format(extra="")).has_changes

    # a guest whose hotplug option leaves out disks: the plan says the new disk needs a
    # restart (Proxmox would hold it pending), and the apply restarts the guest
    vm.config["hotplug"] = "network,usb"
    plan, result = lab.apply(third)
    assert field_changes(plan) == {"guests.db": [("disks[2]", "requires restart")]}
    assert result.ok, failures(result)
    assert "virtio3" in vm.config and task_types(pve, vm.vmid)[-2:] == ["qmshutdown", "qmstart"]
    assert not lab.plan(third).has_changes

    with lab.engine(SCRATCH.format(extra="")) as engine:
        plan = engine.plan(PlanOptions(destroy=True))
        order = [str(step.address) for step in plan.steps]
        assert order.index("guests.db") < order.index("pools.fast")
        assert engine.apply(plan, _Quiet()).ok
    assert "lab_fast" not in pve.storages


CT = """
containers:
  app:
    provider: pve
    node: pve1
    template: local:vztmpl/debian-12-standard_12.7-1_amd64.tar.zst
    cpus: {cpus}
    memory: {memory}
    rootfs: {{ size: {rootfs} }}
    mounts: [ {{ path: /srv, size: 1GiB }}{mount} ]
    networks: [ {{ bridge: vmbr0, vlan: 5 }} ]
    power: {power}
    options:
      ipconfig: ["ip=10.0.1.5/24,gw=10.0.1.1"]
      nesting: true
      tags: [app]
      nameserver: {dns}
"""


def ct(cpus: int = 1, memory: str = "512MiB", rootfs: str = "4GiB", mount: str = "",
       power: str = "running", dns: str = "10.0.1.1") -> str:
    return CT.format(cpus=cpus, memory=memory, rootfs=rootfs, mount=mount, power=power,
                     dns=dns)


def test_container_lifecycle(lab: Lab, pve: TestPve) -> None:
    plan, result = lab.apply(ct())
    assert result.ok, failures(result)
    container = guest(pve, "app")
    assert container.status == "running"
    assert "ip=10.0.1.5/24" in container.config["net0"]
    assert not lab.plan(ct()).has_changes

    # cores and memory change live: no restart
    plan, result = lab.apply(ct(cpus=2, memory="1GiB"))
    assert {p for p, _ in field_changes(plan)["containers.app"]} == {"cpus", "memory"}
    assert all(e == "in place" for _, e in field_changes(plan)["containers.app"])
    assert result.ok, failures(result)
    assert "vzshutdown" not in task_types(pve, container.vmid)
    assert not lab.plan(ct(cpus=2, memory="1GiB")).has_changes

    # the DNS server waits for a restart: planned so, restarted cleanly
    plan = lab.plan(ct(cpus=2, memory="1GiB", dns="10.0.1.53"))
    assert field_changes(plan) == {"containers.app": [("options.nameserver",
                                                       "requires restart")]}
    _, result = lab.apply(ct(cpus=2, memory="1GiB", dns="10.0.1.53"))
    assert result.ok, failures(result)
    assert task_types(pve, container.vmid)[-2:] == ["vzshutdown", "vzstart"]
    assert container.config["nameserver"] == "10.0.1.53" and not container.pending
    assert not lab.plan(ct(cpus=2, memory="1GiB", dns="10.0.1.53")).has_changes

    # the root filesystem grows, a mount point is added
    grown: dict[str, Any] = {"cpus": 2, "memory": "1GiB", "rootfs": "8GiB", "dns": "10.0.1.53",
             "mount": ", { path: /data, size: 2GiB }"}
    _, result = lab.apply(ct(**grown))
    assert result.ok, failures(result)
    assert container.config["rootfs"].endswith("size=8G")
    assert not lab.plan(ct(**grown)).has_changes

    # stopped, then gone
    _, result = lab.apply(ct(**grown, power="stopped"))
    assert result.ok and container.status == "stopped"
    with lab.engine(ct()) as engine:
        assert engine.apply(engine.plan(PlanOptions(destroy=True)), _Quiet()).ok
    assert pve.cts == [] if not lab.real else all(c.name != "app" for c in pve.cts)


class _Quiet:
    def started(self, step: object) -> None: ...

    def finished(self, result: object) -> None: ...
