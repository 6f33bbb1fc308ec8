"""A lab's life on the XAPI simulator: apply, clean re-plan, change, drift, destroy.

What the pool holds is read from the simulator directly (its records, its call
log, the bytes a config drive received), never from the provider.
"""

from __future__ import annotations

import pytest
from support.xapi import GiB, XapiSimulator
from xapi_lab import NET, Lab, failures, field_changes

from provisioner.core.address import Address
from provisioner.core.problems import PlanRefused

pytestmark = [pytest.mark.integration, pytest.mark.simulator_only(
    "reads the simulator's records, call log and disk contents")]

STACK = f"""
guests:
  web:
    provider: xcp
    clone: debian-12-cloud
    cpus: 2
    memory: 1GiB
    node: xcp1
    disks: [{{size: 12GiB}}, {{size: 1GiB, pool: Local storage xcp1}}]
    networks: [{{host_network: {NET}}}, {{bridge: xenbr0, mac: "02:16:3e:00:00:07"}}]
    cloud_init: {{user_data: "#cloud-config\\nhostname: web\\n"}}
    autostart: true
    options: {{memory_max: 2GiB, tags: [web], description: front}}
  bare:
    provider: xcp
    cpus: 1
    memory: 512MiB
    power: stopped
    disks: [{{size: 2GiB}}]
    options: {{firmware: uefi, xenstore_data: {{vm-data/role: db}}}}
"""


def test_apply_makes_what_the_stack_says_and_replans_clean(lab: Lab,
                                                           xapi_sim: XapiSimulator) -> None:
    _, result = lab.apply(STACK)
    assert result.ok, failures(result)
    assert not lab.plan(STACK).has_changes

    ref, web = lab.vm("web")
    assert (web["VCPUs_at_startup"], web["memory_dynamic_max"], web["memory_static_max"]) == (
        2, GiB, 2 * GiB)
    assert web["power_state"] == "Running" and web["is_a_template"] is False
    assert xapi_sim.objects("host")[web["affinity"]]["name_label"] == "xcp1"
    assert web["other_config"]["auto_poweron"] == "true"
    assert sorted(web["tags"]) == ["provisioner:lab", "web"]
    assert "provisioner:creating" not in web["other_config"]
    vdis, vbds = xapi_sim.objects("VDI"), xapi_sim.objects("VBD")
    disks = sorted((int(vbds[b]["userdevice"]), vdis[vbds[b]["VDI"]]) for b in web["VBDs"])
    assert [d["virtual_size"] for _, d in disks[:2]] == [12 * GiB, GiB]
    drive = disks[2][1]
    assert drive["virtual_size"] <= GiB and vbds[web["VBDs"][0]]["type"] == "Disk"
    content = xapi_sim.vdi_contents[xapi_sim.find("VDI", drive["name_label"])]
    assert content[32808:32840].strip().lower() == b"cidata"  # the ISO's volume label
    assert b"hostname: web" in content
    vifs = xapi_sim.objects("VIF")
    assert sorted(vifs[v]["MAC"] for v in web["VIFs"])[0] == "02:16:3e:00:00:07"

    _, bare = lab.vm("bare")
    assert bare["power_state"] == "Halted" and bare["HVM_boot_params"]["firmware"] == "uefi"
    assert bare["xenstore_data"]["vm-data/role"] == "db"
    assert ref != ""


def test_changes_restart_exactly_when_the_plan_says(lab: Lab, xapi_sim: XapiSimulator) -> None:
    assert lab.apply(STACK)[1].ok
    ref, _ = lab.vm("web")
    live = STACK.replace("memory: 1GiB", "memory: 2GiB")
    assert field_changes(lab.plan(live)) == {"guests.web": [("memory", "in place")]}
    xapi_sim.clear_calls()
    assert lab.apply(live)[1].ok
    assert lab.calls("VM.set_memory_dynamic_range") and not lab.calls("VM.clean_shutdown")
    assert lab.vm("web")[1]["memory_dynamic_max"] == 2 * GiB

    restart = live.replace("cpus: 2", "cpus: 3")
    assert field_changes(lab.plan(restart)) == {"guests.web": [("cpus", "requires restart")]}
    xapi_sim.clear_calls()
    assert lab.apply(restart)[1].ok
    power = [m for m in lab.calls("VM.") if m.endswith(("shutdown", "start", "start_on"))]
    assert power == ["Async.VM.clean_shutdown", "Async.VM.start_on"], power
    _, web = lab.vm("web")
    assert (web["VCPUs_at_startup"], web["power_state"]) == (3, "Running")
    assert lab.vm("web")[0] == ref  # updated, never replaced
    assert not lab.plan(restart).has_changes


def test_drift_is_planned_back(lab: Lab, xapi_sim: XapiSimulator) -> None:
    assert lab.apply(STACK)[1].ok
    bare, _ = lab.vm("bare")
    web, _ = lab.vm("web")
    xapi_sim.set_field(bare, "VCPUs_max", 2)
    xapi_sim.set_field(bare, "VCPUs_at_startup", 2)
    xapi_sim.set_field(web, "name_description", "changed by hand")
    xapi_sim.set_field(web, "memory_dynamic_max", 1536 * 1024**2)
    assert field_changes(lab.plan(STACK)) == {
        "guests.bare": [("cpus", "in place")],  # halted: nothing restarts
        "guests.web": [("memory", "in place"), ("options.description", "in place")]}
    xapi_sim.clear_calls()
    assert lab.apply(STACK)[1].ok
    assert not [m for m in lab.calls("VM.") if "shutdown" in m]
    assert not lab.plan(STACK).has_changes
    assert lab.vm("bare")[1]["VCPUs_at_startup"] == 1
    assert lab.vm("web")[1]["memory_dynamic_max"] == GiB


def test_an_untagged_namesake_is_refused_then_adopted_and_destroy_leaves_nothing(
        lab: Lab, xapi_sim: XapiSimulator) -> None:
    assert lab.apply(STACK)[1].ok
    before = set(xapi_sim.objects("VDI"))
    ref, _ = lab.vm("bare")
    xapi_sim.set_field(ref, "other_config", {})  # untagged: no longer this stack's
    with pytest.raises(PlanRefused, match="already exists on provider xcp"):
        lab.plan(STACK)
    with lab.engine(STACK) as engine:
        adopted = engine.adopt(Address.parse("guests.bare"), "bare", "xcp")
    assert adopted.id == ref and adopted.spec["cpus"] == 1
    assert "provisioner:lab" in lab.vm("bare")[1]["tags"]
    lab.plan(STACK)  # no longer refused: the VM is the stack's again
    result = lab.destroy(STACK)
    assert result.ok, failures(result)
    assert lab.owned() == []
    assert {vm["name_label"] for vm in xapi_sim.objects("VM").values()
            if not vm["is_a_template"] and not vm["is_control_domain"]} == set()
    assert set(xapi_sim.objects("VDI")) < before  # the guests' disks went with them
    assert all(vdi["SR"] != "" for vdi in xapi_sim.objects("VDI").values())


def test_a_disk_grows_live_only_on_an_sr_whose_driver_can(lab: Lab,
                                                           xapi_sim: XapiSimulator) -> None:
    """NFS's driver has VDI_RESIZE_ONLINE, LVM's has not (the pool's SM records)."""
    assert lab.apply(STACK)[1].ok
    grown = STACK.replace("{size: 12GiB}", "{size: 14GiB}")
    assert field_changes(lab.plan(grown)) == {"guests.web": [("disks[0].size", "in place")]}
    xapi_sim.clear_calls()
    assert lab.apply(grown)[1].ok
    assert lab.calls("VDI.resize") and not [m for m in lab.calls("VM.") if "shutdown" in m]
    local = grown.replace("{size: 1GiB, pool: Local storage xcp1}",
                          "{size: 2GiB, pool: Local storage xcp1}")
    assert field_changes(lab.plan(local)) == {
        "guests.web": [("disks[1].size", "requires restart")]}
    xapi_sim.clear_calls()
    assert lab.apply(local)[1].ok
    assert "Async.VM.clean_shutdown" in lab.calls("VM.")
    assert not lab.plan(local).has_changes


def test_a_wrong_block_sr_is_shown_at_its_line(lab: Lab) -> None:
    with pytest.raises(PlanRefused) as refused:
        lab.plan(STACK, sr="NFS share")
    (problem,) = refused.value.problems
    assert problem.path == "providers.xcp.sr" and problem.position is not None
    assert problem.hint == "did you mean 'NFS shared'?"


def test_a_vm_destroyed_by_hand_leaves_disks_the_plan_names(lab: Lab,
                                                            xapi_sim: XapiSimulator) -> None:
    """XAPI's VM.destroy keeps the VM's disks: the plan makes the guest again and deletes
    the disks, saying what each one is."""
    import ssl
    import xmlrpc.client

    import XenAPI

    assert lab.apply(STACK)[1].ok
    ref, _ = lab.vm("bare")
    session = XenAPI.Session(xapi_sim.url, transport=xmlrpc.client.SafeTransport(
        context=ssl.create_default_context(cafile=xapi_sim.ca_file)))
    session.xenapi.login_with_password("root", "secret", "2.0", "a person")
    session.xenapi.VM.destroy(ref)
    session.xenapi.session.logout()
    plan = lab.plan(STACK)
    reasons = sorted(c.reason for c in plan.changes if str(c.address) == "guests.bare")
    assert reasons == ["deleted outside provisioner",
                       "left behind by an interrupted run: disk 'bare disk 0' without its VM"]
    assert lab.apply(STACK)[1].ok
    assert not lab.plan(STACK).has_changes
