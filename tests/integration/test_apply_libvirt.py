"""Apply through the engine against libvirt's in-process test driver.

These run the real planner, executor, SQLite store and libvirt provider; the
hypervisor is libvirt's test driver (no daemon). The real daemon with QEMU is
exercised by tests/e2e.
"""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest
from support.libvirt_node import node_uri, write_stack

from provisioner.apply.executor import Outcome, StepResult
from provisioner.apply.progress import CollectingProgress as Recorder
from provisioner.core.address import Address, Kind
from provisioner.engine import Engine
from provisioner.errors import PlanError
from provisioner.plan.model import Action, Plan, Step
from provisioner.plan.planner import PlanOptions
from provisioner.stack.loader import Stack, load_stack
from provisioner.state.local import SQLiteStore
from provisioner.state.store import JournalStatus

pytestmark = pytest.mark.simulator_only(
    "runs on libvirt's test driver, on hosts the test writes (their CPUs, memory and pools)")


def _stack(tmp_path: Path, uri: str, body: str, name: str = "lab") -> Stack:
    pool = "default-pool" if uri == "test:///default" else "default"  # the driver's built-in
    text = f"""apiVersion: provisioner/v1
stack: {name}
providers:
  kvm: {{ type: libvirt, uri: "{uri}", pool: {pool} }}
{body}"""
    return load_stack(write_stack(tmp_path, text))


LAB = """
networks:
  lab: { provider: kvm, mode: nat, cidr: 10.42.0.0/24 }
volumes:
  data: { provider: kvm, size: 1GiB, format: raw }  # shared by both guests: raw
guests:
  web:
    provider: kvm
    count: 2
    cpus: 2
    memory: 256MiB
    disks: [ { size: 2GiB }, { volume: data } ]
    networks: [ { network: lab } ]
    cloud_init: { user_data: "#cloud-config\\nhostname: web\\n" }
  db:
    provider: kvm
    memory: 256MiB
    depends_on: [guests.web]
    disks: [ { size: 4GiB } ]
outputs:
  names: ${guests.web[*].name}
"""


def _changes(plan: Plan) -> dict[str, Action]:
    return {str(c.address): c.action for c in plan.changes if c.action.is_change}


def test_apply_then_plan_in_the_same_process_shows_no_changes(tmp_path: Path) -> None:
    """On test:///default (shared by the process): create, re-plan, destroy."""
    name = "t" + uuid.uuid4().hex[:8]
    stack = _stack(tmp_path, "test:///default", LAB, name=name)
    with Engine(stack, SQLiteStore(tmp_path / "state.db")) as engine:
        first = engine.plan()
        assert set(_changes(first).values()) == {Action.CREATE}
        assert len(first.steps) == 5
        result = engine.apply(first, Recorder())
        assert result.ok, [r.message for r in result.results]
        second = engine.plan()
        assert not second.has_changes, _changes(second)
        assert engine.outputs().values == {"names": ["web-0", "web-1"]}
        gone = engine.apply(engine.plan(PlanOptions(destroy=True)), Recorder())
        assert gone.ok
        assert not engine.plan(PlanOptions(destroy=True)).has_changes
        assert engine.store.applied() == {}


def test_dependencies_are_created_first_and_deleted_last(tmp_path: Path) -> None:
    stack = _stack(tmp_path, node_uri(tmp_path), LAB)
    events = Recorder()
    with Engine(stack, SQLiteStore(tmp_path / "state.db")) as engine:
        assert engine.apply(engine.plan(), events).ok
        order = [r.step.key for r in events.results]
        assert order.index("create networks.lab") < order.index("create guests.web-0")
        assert order.index("create volumes.data") < order.index("create guests.web-1")
        assert order.index("create guests.web-1") < order.index("create guests.db")
        events = Recorder()
        assert engine.apply(engine.plan(PlanOptions(destroy=True)), events).ok
        order = [r.step.key for r in events.results]
        assert order.index("delete guests.db") < order.index("delete guests.web-0")
        assert order.index("delete guests.web-0") < order.index("delete networks.lab")
        assert order.index("delete guests.web-1") < order.index("delete volumes.data")


BRANCHES = """
guests:
  a: { provider: kvm, memory: 256MiB, disks: [ { size: 1GiB } ] }
  after-a: { provider: kvm, memory: 256MiB, depends_on: [guests.a] }
  b: { provider: kvm, memory: 256MiB, disks: [ { size: 1GiB, pool: spare } ] }
  after-b: { provider: kvm, memory: 256MiB, depends_on: [guests.b] }
"""


def test_a_failure_skips_only_its_dependents_and_the_journal_is_consistent(
    tmp_path: Path,
) -> None:
    stack = _stack(tmp_path, node_uri(tmp_path, pools=("default", "spare")), BRANCHES)
    with Engine(stack, SQLiteStore(tmp_path / "state.db")) as engine:
        plan = engine.plan()
        spare = engine.providers()["kvm"].client.conn.storagePoolLookupByName(  # type: ignore[attr-defined]
            "spare")
        spare.destroy()  # the hypervisor changes between plan and apply
        spare.undefine()
        result = engine.apply(plan, Recorder())
        outcomes = {r.step.key: r.outcome for r in result.results}
        assert outcomes == {
            "create guests.a": Outcome.DONE,
            "create guests.after-a": Outcome.DONE,
            "create guests.b": Outcome.FAILED,
            "create guests.after-b": Outcome.SKIPPED,
        }
        failed = result.with_outcome(Outcome.FAILED)[0]
        assert "storage pool 'spare' does not exist" in failed.message
        assert "default" in failed.message  # lists the pools that exist
        skipped = result.with_outcome(Outcome.SKIPPED)[0]
        assert skipped.message == "upstream create guests.b failed"

        applied = engine.store.applied()
        assert set(applied) == {Address(Kind.GUEST, "a"), Address(Kind.GUEST, "after-a")}
        journal = {(e.address, e.status) for e in engine.store.journal()}
        assert journal == {("guests.a", JournalStatus.OK), ("guests.after-a", JournalStatus.OK),
                           ("guests.b", JournalStatus.FAILED)}
        assert engine.store.unresolved() == []
        # the next plan refuses the branch for what is missing; nothing else is left
        with pytest.raises(PlanError, match=r"disks\[0\]\.pool 'spare' does not exist"):
            engine.plan()
        # nothing of the failed create was left behind
        names = {o.name for o in engine.refresh()["kvm"].managed}
        assert names == {"a", "after-a"}


def test_update_with_restart_then_no_changes(tmp_path: Path) -> None:
    uri = node_uri(tmp_path)
    state = tmp_path / "state.db"
    body = "guests:\n  app: {{ provider: kvm, cpus: {cpus}, memory: 512MiB, " \
           "disks: [ {{ size: 1GiB }} ] }}\n"
    with Engine(_stack(tmp_path, uri, body.format(cpus=1)), SQLiteStore(state)) as engine:
        assert engine.apply(engine.plan(), Recorder()).ok
        engine.stack = _stack(tmp_path, uri, body.format(cpus=2))
        plan = engine.plan()
        (change,) = plan.pending()
        assert change.action is Action.UPDATE and change.requires_restart
        assert [(f.path, f.before, f.after) for f in change.fields] == [("cpus", 1, 2)]
        live_id = change.live.id if change.live else ""
        assert engine.apply(plan, Recorder()).ok
        assert not engine.plan().has_changes
        (obj,) = engine.refresh()["kvm"].managed
        assert obj.id == live_id and obj.spec["cpus"] == 2 and obj.running


def test_an_option_removed_from_the_stack_is_removed_from_the_guest(tmp_path: Path) -> None:
    """A key deleted from `options:` goes back to its default on the hypervisor, and
    the plan after that apply is clean."""
    uri = node_uri(tmp_path)
    state = tmp_path / "state.db"
    body = "guests:\n  app: {{ provider: kvm, memory: 256MiB, power: stopped{options} }}\n"
    with Engine(_stack(tmp_path, uri, body.format(options=", options: { graphics: vnc }")),
                SQLiteStore(state)) as engine:
        assert engine.apply(engine.plan(), Recorder()).ok
        (before,) = engine.refresh()["kvm"].managed
        assert before.spec["options"].get("graphics") == "vnc"
        engine.stack = _stack(tmp_path, uri, body.format(options=""))
        plan = engine.plan()
        (change,) = plan.pending()
        assert change.action is Action.UPDATE
        assert [(f.path, f.before, f.after) for f in change.fields] == [
            ("options.graphics", "vnc", None)]
        assert engine.apply(plan, Recorder()).ok
        (after,) = engine.refresh()["kvm"].managed
        assert after.spec["options"].get("graphics") in (None, "none")
        assert not engine.plan().has_changes


def test_count_down_deletes_the_extra_instances_and_their_disks(tmp_path: Path) -> None:
    uri = node_uri(tmp_path)
    body = "guests:\n  web: {{ provider: kvm, count: {count}, memory: 256MiB, " \
           "disks: [ {{ size: 1GiB }} ] }}\n"
    with Engine(_stack(tmp_path, uri, body.format(count=3)),
                SQLiteStore(tmp_path / "state.db")) as engine:
        assert engine.apply(engine.plan(), Recorder()).ok
        engine.stack = _stack(tmp_path, uri, body.format(count=1))
        plan = engine.plan()
        assert _changes(plan) == {"guests.web-1": Action.DELETE, "guests.web-2": Action.DELETE}
        assert engine.apply(plan, Recorder()).ok
        provider = engine.providers()["kvm"]
        pool = provider.client.conn.storagePoolLookupByName("default")  # type: ignore[attr-defined]
        assert sorted(v.name() for v in pool.listAllVolumes()) == ["lab.kvm__web-0__disk0.qcow2"]
        assert set(engine.store.applied()) == {Address(Kind.GUEST, "web-0")}


@pytest.mark.parametrize("parallelism", [1, 3])
def test_parallelism_bounds_concurrent_steps(tmp_path: Path, parallelism: int) -> None:
    body = "guests:\n  w: { provider: kvm, count: 6, memory: 256MiB }\n"
    stack = _stack(tmp_path, node_uri(tmp_path), body)

    class Concurrency(Recorder):
        def __init__(self) -> None:
            super().__init__()
            self.now = 0
            self.peak = 0

        def started(self, step: Step) -> None:  # type: ignore[override]
            self.now += 1
            self.peak = max(self.peak, self.now)

        def finished(self, result: StepResult) -> None:
            self.now -= 1
            super().finished(result)

    events = Concurrency()
    with Engine(stack, SQLiteStore(tmp_path / "state.db")) as engine:
        assert engine.apply(engine.plan(), events, parallelism=parallelism).ok
    assert 1 <= events.peak <= parallelism
    assert len(events.results) == 6


def test_a_name_collision_is_refused_and_import_adopts_the_object(tmp_path: Path) -> None:
    from provisioner.errors import ProviderError

    body = "guests:\n  web: { provider: kvm, memory: 256MiB }\n"
    stack = _stack(tmp_path, node_uri(tmp_path), body)
    with Engine(stack, SQLiteStore(tmp_path / "state.db")) as engine:
        provider = engine.providers()["kvm"]
        provider.client.conn.defineXML(  # type: ignore[attr-defined]
            "<domain type='qemu'><name>web</name><memory unit='KiB'>262144</memory>"
            "<vcpu>1</vcpu><os><type arch='x86_64'>hvm</type></os></domain>")
        with pytest.raises(PlanError) as caught:
            engine.plan()
        assert "not this stack's (untagged)" in caught.value.message
        assert "provisioner import guests.web web" in caught.value.message
        live = provider.adopt(Address(Kind.GUEST, "web"), "web")
        assert live.address == Address(Kind.GUEST, "web") and live.spec["memory"] == 256 << 20
        (change,) = engine.plan().changes
        assert change.action is Action.UPDATE  # declared running; the domain is stopped
        assert [f.path for f in change.fields] == ["power"]
        with pytest.raises(ProviderError, match=r"already belongs to guests\.web of stack lab"):
            provider.adopt(Address(Kind.GUEST, "web"), "web")
        with pytest.raises(ProviderError, match=r"no guest named 'nope'"):
            provider.adopt(Address(Kind.GUEST, "web"), "nope")


def _scale_stack(tmp_path: Path, guests: int) -> Stack:
    body = f"""
networks:
  lab: {{ provider: kvm, mode: nat, cidr: 10.0.0.0/16 }}
guests:
  g:
    provider: kvm
    count: {guests}
    memory: 256MiB
    disks: [ {{ size: 64MiB }} ]
    networks: [ {{ network: lab }} ]
"""
    return _stack(tmp_path, node_uri(tmp_path, cpus=256, memory_gib=1024), body)


def test_plan_list_calls_do_not_grow_with_guests_and_replan_is_clean(tmp_path: Path) -> None:
    """The plan-cost promise: listings constant in the number of guests (1,000 here)."""
    calls = {}
    for guests in (10, 1000):
        directory = tmp_path / str(guests)
        directory.mkdir()
        with Engine(_scale_stack(directory, guests), SQLiteStore(directory / "s.db")) as engine:
            assert engine.apply(engine.plan(), Recorder()).ok
            stats = engine.providers()["kvm"].stats
            stats.calls.clear()
            replan = engine.plan()
            assert not replan.has_changes
            calls[guests] = dict(stats.calls)
    assert calls[1000]["list"] == calls[10]["list"]
    # per guest: its XML, its stored definition (running guests), its disk size
    assert calls[1000]["read"] <= 3 * 1000 + calls[10]["read"]


def test_what_a_stack_refers_to_on_the_host_is_checked_at_plan_time(tmp_path: Path) -> None:
    body = """
guests:
  a: { provider: kvm, memory: 256MiB, image: debian-12 }
  b: { provider: kvm, memory: 256MiB, disks: [ { size: 1GiB, pool: nowhere } ] }
  c: { provider: kvm, memory: 256MiB, networks: [ { host_network: outside } ] }
"""
    stack = _stack(tmp_path, node_uri(tmp_path), body)
    with Engine(stack, SQLiteStore(tmp_path / "state.db")) as engine:
        with pytest.raises(PlanError) as caught:
            engine.plan()
        assert engine.store.journal() == []  # nothing was attempted
    message = caught.value.message
    # each at the line of the field at fault (issue 12: problems name their field)
    assert "stack.yaml:7:46: guests.a: image 'debian-12' is not in pool 'default'" in message
    assert "guests.b: disks[0].pool 'nowhere' does not exist (pools: default)" in message
    assert ("guests.c: networks[0].host_network 'outside' does not exist (networks: none)"
            in message)


def test_a_stack_that_does_not_fit_is_refused_naming_host_and_free_memory(
    tmp_path: Path,
) -> None:
    body = "guests:\n  big: { provider: kvm, count: 3, memory: 2GiB }\n"
    stack = _stack(tmp_path, node_uri(tmp_path, memory_gib=4), body)
    with Engine(stack, SQLiteStore(tmp_path / "state.db")) as engine, \
            pytest.raises(PlanError) as caught:
        engine.plan()
    assert "4GiB of memory free for guests (4GiB x 1 overcommit, 0B running); the plan " \
           "needs 6GiB more" in caught.value.message
    assert "guests.big-0: 2GiB" in caught.value.message


def test_fields_libvirt_cannot_honour_are_refused_at_plan_time(tmp_path: Path) -> None:
    body = """
guests:
  a: { provider: kvm, memory: 256MiB, clone: tmpl, node: other,
       networks: [ { host_network: default, vlan: 12, firewall: true,
                     forwards: [ { host: 2222, guest: 22 } ] } ] }
networks:
  slirp: { provider: kvm, mode: user }
"""
    stack = _stack(tmp_path, node_uri(tmp_path), body)
    with Engine(stack, SQLiteStore(tmp_path / "state.db")) as engine, \
            pytest.raises(PlanError) as caught:
        engine.plan()
    message = caught.value.message
    for text in ("guests.a: clone is not supported here", "guests.a: node is not supported",
                 "networks[0].vlan is not supported", "networks[0].firewall is not supported",
                 "networks[0].forwards is not supported here: port forwards are for QEMU's",
                 "networks.slirp: mode user is a mode of the qemu provider"):
        assert text in message


def test_a_network_range_in_use_on_the_host_is_refused_at_plan_time(tmp_path: Path) -> None:
    """libvirt would refuse to start it ("Network is already in use by interface
    virbr1") after the plan was accepted; two declared networks may not overlap either;
    a network of this stack that the plan deletes, or one not started, does not count."""
    body = """
networks:
  lab: { provider: kvm, mode: nat, cidr: 10.42.0.128/25 }
  also: { provider: kvm, mode: isolated, cidr: 10.43.0.0/16 }
  again: { provider: kvm, mode: isolated, cidr: 10.43.7.0/24 }
  fine: { provider: kvm, mode: isolated, cidr: 10.44.0.0/24 }
"""
    stack = _stack(tmp_path, node_uri(tmp_path), body)
    with Engine(stack, SQLiteStore(tmp_path / "state.db")) as engine:
        conn = engine.providers()["kvm"].client.conn  # type: ignore[attr-defined]
        conn.networkDefineXML(
            "<network><name>someone-else</name><bridge name='virbr9'/>"
            "<ip address='10.42.0.1' netmask='255.255.255.0'/>"
            "<ip family='ipv6' address='fd00::1' prefix='64'/></network>").create()
        conn.networkDefineXML(  # not started: libvirt does not count it either
            "<network><name>idle</name><bridge name='virbr8'/>"
            "<ip address='10.44.0.1' netmask='255.255.255.0'/></network>")
        with pytest.raises(PlanError) as caught:
            engine.plan()
    message = caught.value.message
    assert ("networks.lab: cidr 10.42.0.128/25 overlaps 10.42.0.0/24 of the libvirt network "
            "'someone-else' on this host\n  hint: pick a free range") in message
    assert ("networks.again: cidr 10.43.7.0/24 overlaps 10.43.0.0/16 of networks.also\n"
            "  hint: pick a free range") in message
    assert "networks.fine" not in message and "networks.also:" not in message

    renamed = _stack(tmp_path, node_uri(tmp_path), """
networks:
  old: { provider: kvm, mode: isolated, cidr: 10.45.0.0/24 }
""")
    with Engine(renamed, SQLiteStore(tmp_path / "renamed.db")) as engine:
        assert engine.apply(engine.plan(), Recorder()).ok
        engine.stack = _stack(tmp_path, node_uri(tmp_path), """
networks:
  new: { provider: kvm, mode: isolated, cidr: 10.45.0.0/24 }
""")
        assert _changes(engine.plan()) == {"networks.old": Action.DELETE,
                                           "networks.new": Action.CREATE}


def test_an_output_naming_a_value_no_resource_has_is_refused_at_plan_time(
        tmp_path: Path) -> None:
    """A typo in an output (`ipp`) would only show after the apply, as a null and a
    warning; the plan knows each kind's fields and what the provider reads back."""
    body = """
guests:
  web: { provider: kvm, count: 2, memory: 256MiB }
outputs:
  ips: ${guests.web[*].ipp}
  first: ${guests.web-0.uuid}
  memory: ${guests.web[0].memory}
"""
    stack = _stack(tmp_path, node_uri(tmp_path), body)
    with Engine(stack, SQLiteStore(tmp_path / "state.db")) as engine, \
            pytest.raises(PlanError) as caught:
        engine.plan()
    message = caught.value.message
    assert "outputs.ips: guests.web has no value 'ipp' (it has: " in message
    assert ", ip, ips, " in message
    assert "outputs.first" not in message and "outputs.memory" not in message
