"""An update the plan calls "in place" writes only the changed fields and never restarts.

What fakepve saw is the evidence (its request log): the config PUT carries the
keys of the fields the plan listed, plus ``description`` (the marker, which
holds the applied spec), and no power operation reaches a running guest. A
NIC whose config has no ``firewall`` key is never rewritten with
``firewall=0``: fakepve, like a guest without network hot-plug, would hold
that as a pending change.
"""

from __future__ import annotations

from urllib.parse import parse_qs

import pytest
from pve_harness import Lab, TestPve, failures, field_changes, guest, task_types

POWER = ("/status/shutdown", "/status/stop", "/status/reboot", "/status/reset",
         "/status/suspend")

VM = """
guests:
  web:
    provider: pve
    clone: debian-12
    node: pve1
    memory: 1GiB
    disks: [ {{ size: {size} }} ]
    networks: [ {{ bridge: vmbr0{vlan} }} ]
    autostart: {autostart}
    options: {{ tags: [{tags}] }}
"""

CT = """
containers:
  app:
    provider: pve
    node: pve1
    template: local:vztmpl/debian-12-standard_12.7-1_amd64.tar.zst
    memory: 512MiB
    rootfs: {{ size: {size} }}
    networks: [ {{ bridge: vmbr0{vlan} }} ]
    autostart: {autostart}
    options: {{ tags: [{tags}] }}
"""

BASE = {"size": "4GiB", "vlan": "", "autostart": "false", "tags": "web"}
UPDATES = {
    "tags": ({"tags": "web, prod"}, ["options.tags"], {"tags", "description"}),
    "autostart": ({"autostart": "true"}, ["autostart"], {"onboot", "description"}),
    "disk grow": ({"size": "6GiB"}, None, {"description"}),
}


class Calls:
    """What fakepve received since the mark."""

    def __init__(self, pve: TestPve) -> None:
        self.pve = pve
        self.start = len(pve.requests)

    def config_writes(self) -> list[dict[str, list[str]]]:
        return [parse_qs(body.decode()) for method, path, body in self.pve.requests[self.start:]
                if method == "PUT" and path.endswith("/config")]

    def power(self) -> list[str]:
        return [path for method, path, _ in self.pve.requests[self.start:]
                if method == "POST" and path.endswith(POWER)]

    def paths(self, method: str, suffix: str) -> list[str]:
        return [path for m, path, _ in self.pve.requests[self.start:]
                if m == method and path.endswith(suffix)]


@pytest.mark.simulator_only("reads fakepve's request log (what the provider sent)")
@pytest.mark.parametrize("case", sorted(UPDATES))
@pytest.mark.parametrize("template", ["guest", "container"])
def test_an_in_place_update_writes_only_its_keys_and_restarts_nothing(
    case: str, template: str, lab: Lab, pve: TestPve
) -> None:
    body, name = (VM, "web") if template == "guest" else (CT, "app")
    address = f"{'guests' if template == 'guest' else 'containers'}.{name}"
    _, result = lab.apply(body.format(**BASE))
    assert result.ok, failures(result)
    running = guest(pve, name)
    assert running.status == "running"
    config_before = dict(running.config)

    values, fields, keys = UPDATES[case]
    calls = Calls(pve)
    plan, result = lab.apply(body.format(**{**BASE, **values}))
    assert result.ok, failures(result)

    effects = {effect for _, effect in field_changes(plan)[address]}
    assert effects == {"in place"}, field_changes(plan)
    if fields is not None:
        assert {path.split("[")[0] for path, _ in field_changes(plan)[address]} == set(fields)
    assert calls.power() == [], "an in-place update power-cycled the guest"
    assert running.status == "running" and not running.pending, running.pending
    written = {key for params in calls.config_writes() for key in params}
    assert written == keys, f"the update wrote {sorted(written)}, not {sorted(keys)}"
    untouched = {k: v for k, v in running.config.items() if k not in keys and
                 not k.startswith(("scsi", "rootfs"))}
    assert untouched == {k: v for k, v in config_before.items() if k in untouched}
    if case == "disk grow":
        assert len(calls.paths("PUT", "/resize")) == 1
    assert not lab.plan(body.format(**{**BASE, **values})).has_changes


@pytest.mark.simulator_only("reads fakepve's request log (what the provider sent)")
@pytest.mark.parametrize("template", ["guest", "container"])
def test_a_nic_change_adds_no_flag_and_restarts_nothing(template: str, lab: Lab,
                                                        pve: TestPve) -> None:
    """A VLAN change is "in place": Proxmox moves the running guest's tap device to the
    new VLAN (the fake plugs it as PVE does, support/pve_hotplug.py)."""
    body, name = (VM, "web") if template == "guest" else (CT, "app")
    _, result = lab.apply(body.format(**BASE))
    assert result.ok, failures(result)
    calls = Calls(pve)
    moved = body.format(**{**BASE, "vlan": ", vlan: 30"})
    _, result = lab.apply(moved)
    assert result.ok, failures(result)
    nets = [params["net0"][0] for params in calls.config_writes() if "net0" in params]
    assert len(nets) == 1 and "tag=30" in nets[0], nets
    assert "firewall" not in nets[0], f"an undeclared firewall flag was written: {nets[0]}"
    assert set().union(*calls.config_writes()) == {"net0", "description"}
    assert calls.power() == [], "an in-place update power-cycled the guest"
    assert not guest(pve, name).pending and "tag=30" in guest(pve, name).config["net0"]
    assert not lab.plan(moved).has_changes


@pytest.mark.simulator_only("sets the guest's hotplug option inside the fake, as the UI would")
def test_a_new_nic_on_a_vm_without_network_hotplug_is_planned_and_made_with_a_restart(
        lab: Lab, pve: TestPve) -> None:
    """The VM's hotplug option leaves out network: Proxmox would hold a new NIC until
    the next start, so the plan says "requires restart", and the apply restarts it."""
    _, result = lab.apply(VM.format(**BASE))
    assert result.ok, failures(result)
    guest(pve, "web").config["hotplug"] = "disk,usb"  # set in the UI
    two = VM.format(**BASE).replace("networks: [ { bridge: vmbr0 }",
                                    "networks: [ { bridge: vmbr0 }, { bridge: vmbr0 }")
    assert two != VM.format(**BASE), "the stack did not get a second NIC"
    plan = lab.plan(two)
    assert field_changes(plan) == {"guests.web": [("networks[1]", "requires restart")]}
    vmid = guest(pve, "web").vmid
    before = task_types(pve, vmid)
    _, result = lab.apply(two)
    assert result.ok, failures(result)
    assert task_types(pve, vmid)[len(before):] == ["qmshutdown", "qmstart"]
    assert not guest(pve, "web").pending and "net1" in guest(pve, "web").config
    assert not lab.plan(two).has_changes


@pytest.mark.simulator_only("reads fakepve's request log (what the provider sent)")
def test_a_containers_address_change_rewrites_its_nic(lab: Lab, pve: TestPve) -> None:
    """A container's addresses live in its NIC (``net0: ...,ip=...``): changing
    ``options.ipconfig`` writes that NIC, and only it."""
    body = CT.replace("options: {{ tags: [{tags}] }}",
                      'options: {{ tags: [{tags}], ipconfig: ["{ip}"] }}')
    _, result = lab.apply(body.format(**BASE, ip="ip=dhcp"))
    assert result.ok, failures(result)
    calls = Calls(pve)
    moved = body.format(**BASE, ip="ip=10.0.0.5/24,gw=10.0.0.1")
    plan, result = lab.apply(moved)
    assert result.ok, failures(result)
    assert field_changes(plan) == {"containers.app": [("options.ipconfig[0]", "in place")]}
    assert set().union(*calls.config_writes()) == {"net0", "description"}
    assert "ip=10.0.0.5/24" in guest(pve, "app").config["net0"]
    assert calls.power() == []
    assert not lab.plan(moved).has_changes


def test_removing_a_running_containers_mount_point_is_planned_as_a_restart(
    lab: Lab, pve: TestPve
) -> None:
    """Proxmox cannot detach a mount point from a running container: it holds the
    removal until the next start. The plan says so, and the apply restarts it."""
    mounts = "\n    mounts: [ {{ path: /srv, size: 1GiB }}{more} ]"
    body = CT.replace("rootfs: {{ size: {size} }}", "rootfs: {{ size: {size} }}" + mounts)
    _, result = lab.apply(body.format(**BASE, more=", { path: /data, size: 1GiB }"))
    assert result.ok, failures(result)
    container = guest(pve, "app")
    assert "mp1" in container.config
    plan, result = lab.apply(body.format(**BASE, more=""))
    assert field_changes(plan) == {"containers.app": [("mounts[1]", "requires restart")]}
    assert result.ok, failures(result)
    assert "mp1" not in container.config and not container.pending
    assert not [key for key in container.config if key.startswith("unused")], \
        "the removed mount point's volume was kept"
    assert task_types(pve, container.vmid)[-2:] == ["vzshutdown", "vzstart"]
    assert not lab.plan(body.format(**BASE, more="")).has_changes
