"""Faults: what the simulator really does (a running VM refuses to be destroyed, a
duplicate name is accepted), and faults injected through the front-end's
/_provisioner/faults (a task that fails for lack of resources, one that hangs,
one held by another task, a missing privilege, a lost session).

Each test runs on both simulators unless it names one.
"""

from __future__ import annotations

import pytest
from support.vcsim import Simulator
from vsphere_lab import Lab, actions, failures

from provisioner.core.address import Address, Kind
from provisioner.errors import CreateFailedError, PlanError, ProviderError
from provisioner.plan.model import Action
from provisioner.providers.vsphere.faults import InvalidPowerStateError
from provisioner.providers.vsphere.ownership import CREATING_KEY, Ownership

APP = """
guests:
  app: { provider: vc, cpus: 1, memory: 256MiB, disks: [ { size: 1GiB } ] }
"""


def _provider(lab: Lab) -> object:
    engine = lab.engine(APP)
    return engine.providers()["vc"]


def test_a_running_guest_is_powered_off_before_it_is_destroyed(lab: Lab, vcsim: Simulator) -> None:
    _, result = lab.apply(APP)
    assert result.ok, failures(result)
    vm = vcsim.vm("app")
    assert vm.runtime.powerState == "poweredOn"
    with pytest.raises(Exception) as refused:  # what the provider must never do
        vcsim.wait(vm.Destroy_Task())
    assert type(refused.value).__name__.endswith("InvalidPowerState")

    plan, result = lab.apply("guests: {}\n")
    assert actions(plan) == {"guests.app": Action.DELETE}
    assert result.ok, failures(result)
    assert not vcsim.vms("app")


def test_invalid_power_state_is_translated_naming_the_vm(lab: Lab, vcsim: Simulator) -> None:
    _, result = lab.apply(APP)
    assert result.ok, failures(result)
    with lab.engine(APP) as engine:
        provider = engine.providers()["vc"]
        from pyVmomi import vim

        client = provider.client  # type: ignore[attr-defined]
        vm = client.ref(vim.VirtualMachine, vcsim.vm("app")._moId)
        with pytest.raises(InvalidPowerStateError) as refused:
            client.run_task("guests.app: VM 'app'", lambda _s: vm.Destroy_Task())
    assert str(refused.value) == ("guests.app: VM 'app': wrong power state: it is poweredOn, "
                                  "and this needs it poweredOff")
    assert refused.value.hint


@pytest.mark.simulator_only(
    "makes a VM of the guest's name in the simulator, outside the provider")
def test_a_duplicate_name_is_refused_though_the_simulator_accepts_it(
    lab: Lab, vcsim_vpx: Simulator
) -> None:
    """vCenter refuses a second VM of a name in a folder; the simulator does not. The
    provider refuses it itself, at plan time and, if the VM appears after the plan, at
    create time, in any folder."""
    folder = vcsim_vpx.datacenter_object().vmFolder.childEntity
    lab_folder = next(f for f in folder if getattr(f, "name", "") == "lab")
    vcsim_vpx.make_vm("app", folder=lab_folder)

    with pytest.raises(PlanError) as refused:
        lab.plan(APP)
    assert "guests.app: a guest named 'app' already exists on provider vc and is not this " \
           "stack's (untagged)" in str(refused.value)

    with lab.engine(APP) as engine:
        provider = engine.providers()["vc"]
        (resource,) = engine.stack.resources
        with pytest.raises(ProviderError) as failed:
            provider.create(resource)
    assert str(failed.value) == ("guests.app: VM 'app': a VM named 'app' already exists in "
                                 "folder lab (untagged)")
    assert len(vcsim_vpx.vms("app")) == 1


@pytest.mark.simulator_only("injects a fault into the simulator")
def test_a_task_that_fails_for_lack_of_resources_leaves_nothing(
    lab: Lab, vcsim: Simulator
) -> None:
    vcsim.inject(method="PowerOnVM_Task", target="app", fault="InsufficientResourcesFault",
                 task=True, times=1, message="Insufficient memory resources on the cluster")
    plan, result = lab.apply(APP)
    assert actions(plan) == {"guests.app": Action.CREATE}
    assert not result.ok
    (message,) = failures(result)
    assert message == ("VM 'app': not enough resources: InsufficientResourcesFault "
                       "(Insufficient memory resources on the cluster)")  # the line names it
    assert not vcsim.vms("app"), "the half-made VM was not deleted"

    _, result = lab.apply(APP)  # the fault is gone: it is created again
    assert result.ok, failures(result)
    assert not lab.plan(APP).has_changes


@pytest.mark.simulator_only("injects a fault into the simulator")
def test_a_task_that_never_ends_times_out(lab: Lab, vcsim: Simulator) -> None:
    vcsim.inject(method="ReconfigVM_Task", target="app", fault="TaskInProgress", task=True,
                 hang=True, times=1)
    _, result = lab.apply(APP, task_timeout=1)
    assert not result.ok
    (message,) = failures(result)
    assert message.startswith("VM 'app': task ")
    assert "still runs after 1s" in message
    assert not vcsim.vms("app")


@pytest.mark.simulator_only("injects a fault into the simulator")
def test_a_task_held_by_another_one_is_retried(lab: Lab, vcsim: Simulator) -> None:
    vcsim.inject(method="ReconfigVM_Task", target="app", fault="TaskInProgress", task=True,
                 times=2)
    _, result = lab.apply(APP)
    assert result.ok, failures(result)
    assert vcsim.vm("app").runtime.powerState == "poweredOn"


@pytest.mark.simulator_only("injects a fault into the simulator")
def test_a_missing_privilege_names_it(lab: Lab, vcsim: Simulator) -> None:
    vcsim.inject(method="PowerOnVM_Task", target="app", fault="NoPermission", times=1)
    _, result = lab.apply(APP)
    (message,) = failures(result)
    assert message.startswith("VM 'app': permission denied: privilege "
                              "VirtualMachine.Config.Resource is missing (on managed object vm-")
    assert not vcsim.vms("app")


def test_a_lost_session_is_logged_in_again(lab: Lab, vcsim: Simulator) -> None:
    _, result = lab.apply(APP)
    assert result.ok, failures(result)
    grown = APP.replace("cpus: 1", "cpus: 2")
    with lab.engine(grown) as engine:
        plan = engine.plan()
        provider = engine.providers()["vc"]
        session = provider.client.session  # type: ignore[attr-defined]
        key = session.content.sessionManager.currentSession.key
        vcsim.content.sessionManager.TerminateSession([key])  # as an idle timeout would
        from vsphere_lab import Recorder

        result = engine.apply(plan, Recorder(), 4)
        assert result.ok, failures(result)
        assert provider.stats.calls["connect"] >= 3  # login, view, login again
    assert vcsim.vm("app").config.hardware.numCPU == 2


def test_one_session_per_run_and_logged_out_at_the_end(lab: Lab, vcsim: Simulator) -> None:
    before = {s.key for s in vcsim.content.sessionManager.sessionList}
    with lab.engine(APP) as engine:
        from vsphere_lab import Recorder

        result = engine.apply(engine.plan(), Recorder(), 8)
        assert result.ok, failures(result)
        during = {s.key for s in vcsim.content.sessionManager.sessionList} - before
        assert len(during) == 1
        assert engine.providers()["vc"].stats.calls["connect"] == 2  # login, view
    assert {s.key for s in vcsim.content.sessionManager.sessionList} == before


def test_a_wrong_password_is_an_error_without_the_password(
    lab: Lab, vcsim: Simulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("WRONG_PASSWORD", "not-the-password-0123")
    with pytest.raises(ProviderError) as refused:
        lab.plan(APP, password="${env.WRONG_PASSWORD}")
    text = f"{refused.value}\n{refused.value.hint}"
    server = vcsim.provider_block()["server"]
    assert f"cannot log in to {server}" in text and "as user" in text
    assert "not-the-password-0123" not in text


def test_an_untrusted_certificate_is_refused(lab: Lab, vcsim: Simulator) -> None:
    if vcsim.real and not vcsim.provider_block().get("ca_file"):
        pytest.skip("the real target's certificate is trusted without ca_file "
                    "(PROVISIONER_TEST_VSPHERE_CA_FILE is not set)")
    with pytest.raises(ProviderError) as refused:
        lab.plan(APP, ca_file=None)
    assert "TLS certificate could not be verified" in str(refused.value)
    assert "ca_file" in refused.value.hint


@pytest.mark.simulator_only(
    "makes a VM marked as being created in the simulator, outside the provider")
def test_an_interrupted_create_is_deleted_and_made_again(lab: Lab, vcsim: Simulator) -> None:
    """A VM still marked as being created (the run died before it was complete) is a
    leftover: the next apply deletes it before creating the guest."""
    from pyVmomi import vim

    marker = Ownership("lab", "vc").creating(Address(Kind.GUEST, "app"))
    vm = vcsim.make_vm("app")
    vcsim.wait(vm.ReconfigVM_Task(spec=vim.vm.ConfigSpec(extraConfig=[
        vim.option.OptionValue(key=CREATING_KEY, value=marker)])))
    plan, result = lab.apply(APP)
    assert [(str(c.address), c.action, c.leftover) for c in plan.changes] == [
        ("guests.app", Action.CREATE, False), ("guests.app", Action.DELETE, True)]
    assert result.ok, failures(result)
    (app,) = vcsim.vms("app")
    assert app._moId != vm._moId
    assert not lab.plan(APP).has_changes


@pytest.mark.simulator_only("injects a fault into the simulator")
def test_a_create_that_fails_after_the_vm_exists_removes_it(
    lab: Lab, vcsim: Simulator
) -> None:
    with lab.engine(APP) as engine:
        provider = engine.providers()["vc"]
        (resource,) = engine.stack.resources
        vcsim.inject(method="ReconfigVM_Task", target="app", fault="SystemError",
                     message="the host is on fire", times=1)
        with pytest.raises(CreateFailedError) as failed:
            provider.create(resource)
    assert str(failed.value) == "guests.app: VM 'app': SystemError (the host is on fire)"
    assert failed.value.leftovers == ()
    assert not vcsim.vms("app")
