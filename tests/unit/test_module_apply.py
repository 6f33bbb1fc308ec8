"""Modules applied on libvirt's test driver: the names the hypervisor sees, a clean
re-plan, a changed input, a removed module, ``--target module.NAME``.

Each step loads the stack anew and carries the hypervisor to the next one in the
driver's node file (support/libvirt_node.py), as separate runs would.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from support.libvirt_node import node_uri, snapshot_node

from provisioner.cli.common import parse_addresses
from provisioner.core.problems import PlanRefused
from provisioner.engine import Engine
from provisioner.plan.model import Action, Plan
from provisioner.plan.planner import PlanOptions
from provisioner.stack.loader import load_stack
from provisioner.stack.variables import VariableInputs

MODULE = """\
apiVersion: provisioner/v1
variables:
  workers: {type: integer}
  network: {type: string}
  cidr: {default: 10.77.0.0/24}
networks:
  inner: {provider: kvm, cidr: "${var.cidr}"}
volumes:
  data: {provider: kvm, size: 1GiB}
guests:
  node:
    provider: kvm
    count: ${var.workers}
    memory: 64MiB
    networks: [{network: "${var.network}"}, {network: inner}]
  db:
    provider: kvm
    memory: 64MiB
    disks: [{volume: data}]
outputs:
  names: ${guests.node[*].name}
"""
STACK = """\
apiVersion: provisioner/v1
stack: modlab
providers:
  kvm: {{type: libvirt, uri: "{uri}"}}
networks:
  lab: {{provider: kvm, cidr: 10.42.0.0/24}}
modules:
  web: {{source: ../modules/nodes, inputs: {{workers: {web}, network: "${{networks.lab.name}}"}}}}
{api}outputs:
  names: ${{module.web.outputs.names}}
"""
API = """\
  api:
    source: ../modules/nodes
    inputs: {workers: 1, network: "${networks.lab.name}", cidr: 10.78.0.0/24}
"""


class Quiet:
    def started(self, step: object) -> None: ...
    def finished(self, result: object) -> None: ...


def write(root: Path, web: int = 2, api: bool = True) -> Path:
    (root / ".git").mkdir(exist_ok=True)
    (root / "modules" / "nodes").mkdir(parents=True, exist_ok=True)
    (root / "modules" / "nodes" / "main.yaml").write_text(MODULE)
    stack = root / "stack"
    stack.mkdir(exist_ok=True)
    uri = node_uri(root) if not (root / "node.xml").exists() else f"test://{root / 'node.xml'}"
    (stack / "main.yaml").write_text(STACK.format(uri=uri, web=web, api=API if api else ""))
    return stack


def changes(plan: Plan) -> dict[str, str]:
    return {str(c.address): c.action.value for c in plan.changes if c.action is not Action.NOOP}


def converge(root: Path, options: PlanOptions | None = None,
             inputs: VariableInputs | None = None, block: str = "kvm"
             ) -> tuple[dict[str, str], Engine]:
    """Plan and apply the stack at ``root/stack``; keep the hypervisor for the next run."""
    stack = load_stack(root / "stack", inputs, environ={}, cwd=root)
    with Engine(stack) as engine:
        plan = engine.plan(options)
        assert engine.apply(plan, Quiet()).ok
        conn = engine.providers()[block].client.conn  # type: ignore[attr-defined]
        snapshot_node(conn, root / "node.xml")
        return changes(plan), engine


def replan(root: Path, inputs: VariableInputs | None = None) -> dict[str, str]:
    with Engine(load_stack(root / "stack", inputs, environ={}, cwd=root)) as engine:
        return changes(engine.plan())


def names_on_the_hypervisor(root: Path) -> tuple[list[str], list[str], list[str]]:
    import libvirt

    conn = libvirt.open(f"test://{root / 'node.xml'}")
    try:
        return (sorted(d.name() for d in conn.listAllDomains() if d.name() != "test"),
                sorted(n.name() for n in conn.listAllNetworks() if n.name() != "default"),
                sorted(v.name() for p in conn.listAllStoragePools() for v in p.listAllVolumes()))
    finally:
        conn.close()


def test_two_uses_of_a_module_apply_under_their_names_and_replan_clean(tmp_path: Path) -> None:
    write(tmp_path)
    created, _ = converge(tmp_path)
    assert set(created.values()) == {"create"}
    assert "module.web.guests.node-1" in created and "module.api.volumes.data" in created
    domains, networks, volumes = names_on_the_hypervisor(tmp_path)
    assert domains == ["api-db", "api-node-0", "web-db", "web-node-0", "web-node-1"]
    assert networks == ["api-inner", "lab", "web-inner"]
    assert volumes == ["modlab.kvm__api-data.qcow2", "modlab.kvm__web-data.qcow2"]
    assert replan(tmp_path) == {}


def test_an_input_change_adds_only_the_new_instance(tmp_path: Path) -> None:
    write(tmp_path)
    converge(tmp_path)
    write(tmp_path, web=3)
    assert converge(tmp_path)[0] == {"module.web.guests.node-2": "create"}
    assert replan(tmp_path) == {}


def test_removing_a_module_deletes_its_objects_and_nothing_else(tmp_path: Path) -> None:
    write(tmp_path)
    converge(tmp_path)
    write(tmp_path, api=False)
    deleted, _ = converge(tmp_path)
    assert deleted == {"module.api.guests.node-0": "delete", "module.api.guests.db": "delete",
                       "module.api.volumes.data": "delete",
                       "module.api.networks.inner": "delete"}
    domains, networks, volumes = names_on_the_hypervisor(tmp_path)
    assert domains == ["web-db", "web-node-0", "web-node-1"]
    assert networks == ["lab", "web-inner"]
    assert volumes == ["modlab.kvm__web-data.qcow2"]
    assert replan(tmp_path) == {}


def test_target_a_module_plans_it_and_what_it_needs(tmp_path: Path) -> None:
    write(tmp_path)
    stack = load_stack(tmp_path / "stack", environ={}, cwd=tmp_path)
    targets = parse_addresses(["module.api"], "--target", stack)
    assert {str(a) for a in targets} == {"module.api.guests.node-0", "module.api.guests.db",
                                         "module.api.volumes.data",
                                         "module.api.networks.inner"}
    created, _ = converge(tmp_path, PlanOptions(targets=targets))
    assert set(created) == {*map(str, targets), "networks.lab"}
    group = parse_addresses(["module.web.guests.node"], "--target", stack)
    assert {str(a) for a in group} == {"module.web.guests.node-0", "module.web.guests.node-1"}


ROOT_WEB = """\
apiVersion: provisioner/v1
stack: modlab
providers:
  kvm: {{type: libvirt, uri: "{uri}"}}
volumes:
  data: {{provider: kvm, size: 1GiB}}
guests:
  web: {{provider: kvm, memory: 64MiB, disks: [{{volume: data}}]}}
  api: {{provider: kvm, memory: 64MiB, count: 2}}
"""
WEB_MODULE = """\
apiVersion: provisioner/v1
volumes:
  data: {provider: kvm, size: 1GiB}
guests:
  web: {provider: kvm, memory: 64MiB, disks: [{volume: data}]}
"""
API_MODULE = """\
apiVersion: provisioner/v1
guests:
  api: {provider: kvm, memory: 64MiB, count: 2}
"""
IN_MODULES = """\
apiVersion: provisioner/v1
stack: modlab
providers:
  kvm: {{type: libvirt, uri: "{uri}"}}
modules:
  site: {{source: ../modules/site, name_prefix: ""}}
  api: {{source: ../modules/api}}
{moved}"""
MOVED = """\
moved:
  - {from: volumes.data, to: module.site.volumes.data}
  - {from: guests.web, to: module.site.guests.web}
  - {from: guests.api, to: module.api.guests.api}
"""


def applied_then_modules(root: Path) -> tuple[Path, str]:
    """ROOT_WEB applied, then the modules written that its resources move into."""
    (root / ".git").mkdir()
    stack = root / "stack"
    stack.mkdir()
    uri = node_uri(root)
    (stack / "main.yaml").write_text(ROOT_WEB.format(uri=uri))
    converge(root)
    for name, text in (("site", WEB_MODULE), ("api", API_MODULE)):
        (root / "modules" / name).mkdir(parents=True)
        (root / "modules" / name / "main.yaml").write_text(text)
    return stack, uri


def test_moving_resources_into_modules_keeps_their_objects(tmp_path: Path) -> None:
    stack, uri = applied_then_modules(tmp_path)
    (stack / "main.yaml").write_text(IN_MODULES.format(uri=uri, moved=MOVED))
    with Engine(load_stack(stack, environ={}, cwd=tmp_path)) as engine:
        plan = engine.plan()
        assert [(str(a), str(b)) for a, b in plan.moved] == [
            ("volumes.data", "module.site.volumes.data"),
            ("guests.api-0", "module.api.guests.api-0"),
            ("guests.api-1", "module.api.guests.api-1"),
            ("guests.web", "module.site.guests.web")]
        assert changes(plan) == {}  # no create, no delete: the same objects
        assert engine.apply(plan, Quiet()).ok
        engine.conclude(plan, None)
        snapshot_node(engine.providers()["kvm"].client.conn,  # type: ignore[attr-defined]
                      tmp_path / "node.xml")
        recorded = {str(a) for a in engine.store.applied()}
    assert recorded == {"module.site.volumes.data", "module.site.guests.web",
                        "module.api.guests.api-0", "module.api.guests.api-1"}
    assert names_on_the_hypervisor(tmp_path)[0] == ["api-0", "api-1", "web"]
    (stack / "main.yaml").write_text(IN_MODULES.format(uri=uri, moved=""))
    assert replan(tmp_path) == {}  # the block removed: the state knows the objects


def test_moving_a_volume_a_guest_names_must_keep_its_name(tmp_path: Path) -> None:
    stack, uri = applied_then_modules(tmp_path)
    (stack / "main.yaml").write_text(IN_MODULES.replace(', name_prefix: ""', "").format(
        uri=uri, moved=MOVED))
    with Engine(load_stack(stack, environ={}, cwd=tmp_path)) as engine, \
            pytest.raises(PlanRefused) as refused:
        engine.plan()
    assert "module.site.volumes.data: moved from volumes.data, it keeps its name data on " \
           "the hypervisor, and module.site.guests.web would name it site-data" \
           in str(refused.value)


EXAMPLE = Path(__file__).resolve().parents[2] / "stacks" / "modules-example"


def test_the_modules_example_from_apply_to_destroy(tmp_path: Path) -> None:
    """stacks/modules-example as its comments and docs/stack-files.md use it: apply,
    a clean re-plan, one more web guest, the api tier disabled, destroy."""
    import shutil

    shutil.copytree(EXAMPLE, tmp_path / "stack")
    uri = node_uri(tmp_path, pools=("default-pool",))
    text = (tmp_path / "stack" / "stack.yaml").read_text()
    (tmp_path / "stack" / "stack.yaml").write_text(text.replace("test:///default", uri))
    created, _ = converge(tmp_path, block="sim")
    assert len(created) == 8 and set(created.values()) == {"create"}
    assert names_on_the_hypervisor(tmp_path)[0] == ["api-node-0", "web-node-0", "web-node-1"]
    assert replan(tmp_path) == {}
    with Engine(load_stack(tmp_path / "stack", environ={}, cwd=tmp_path)) as engine:
        conn = engine.providers()["sim"].client.conn  # type: ignore[attr-defined]
        gone = conn.lookupByName("web-node-1")  # removed behind the stack's back
        gone.destroy()
        gone.undefine()
        snapshot_node(conn, tmp_path / "node.xml")
        assert [str(d.address) for d in engine.drift()] == ["module.web.guests.node-1"]
    with Engine(load_stack(tmp_path / "stack", environ={}, cwd=tmp_path)) as engine:
        plan = engine.plan()  # its disks are left over: deleted, then it is made anew
        assert sorted((str(c.address), c.action.value, c.reason) for c in plan.changes
                      if c.action is not Action.NOOP) == [
            ("module.web.guests.node-1", "create", "deleted outside provisioner"),
            ("module.web.guests.node-1", "delete", "left behind by an interrupted run")]
    converge(tmp_path, block="sim")
    assert replan(tmp_path) == {}
    more = VariableInputs(("web_replicas=3",))
    assert converge(tmp_path, inputs=more, block="sim")[0] == {"module.web.guests.node-2": "create"}
    without_api = VariableInputs(("web_replicas=3", "with_api=false"))
    assert converge(tmp_path, inputs=without_api, block="sim")[0] == {
        "module.api.guests.node-0": "delete", "module.api.volumes.data": "delete",
        "module.api.networks.back": "delete"}
    assert replan(tmp_path, without_api) == {}
    gone, _ = converge(tmp_path, PlanOptions(destroy=True), without_api, "sim")
    assert set(gone.values()) == {"delete"} and len(gone) == 6
    assert names_on_the_hypervisor(tmp_path) == ([], [], [])
