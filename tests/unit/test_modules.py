"""Modules through ``load_stack``: addresses, hypervisor names, inputs, nesting,
outputs, and each error at its file:line:col (the caller's line for inputs, the
module file's for what is wrong inside it)."""

from __future__ import annotations

from pathlib import Path
from textwrap import dedent

import pytest

from provisioner.core.address import Address, Kind
from provisioner.errors import StackError
from provisioner.stack.loader import Stack, load_stack

HEAD = """\
apiVersion: provisioner/v1
stack: lab
providers:
  kvm: {type: libvirt, uri: "test:///default"}
"""
NODE_MODULE = """\
apiVersion: provisioner/v1
variables:
  workers: {type: integer}
  network: {type: string, description: "the network the nodes join"}
  memory: {default: 256MiB}
networks:
  inner: {provider: kvm, cidr: 10.77.0.0/24}
volumes:
  data: {provider: kvm, size: 1GiB}
guests:
  node:
    provider: kvm
    count: ${var.workers}
    memory: ${var.memory}
    networks: [{network: "${var.network}"}, {network: inner}]
  db:
    provider: kvm
    disks: [{volume: data}]
    depends_on: [guests.node]
outputs:
  names: ${guests.node[*].name}
"""


def tree(root: Path, files: dict[str, str]) -> Path:
    """Write ``files`` (relative path → text) under ``root``, a repository (``.git``);
    return the stack directory ``root/stack``."""
    (root / ".git").mkdir(parents=True, exist_ok=True)
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text if text.startswith(HEAD) else dedent(text))
    return root / "stack"


def load(root: Path, files: dict[str, str]) -> Stack:
    return load_stack(tree(root, files), environ={}, cwd=root)


def problems(root: Path, files: dict[str, str]) -> list[str]:
    with pytest.raises(StackError) as caught:
        load(root, files)
    return [p.render() for p in caught.value.problems]


def two_uses(extra: str = "") -> dict[str, str]:
    return {
        "modules/nodes/main.yaml": NODE_MODULE,
        "stack/main.yaml": HEAD + dedent("""\
            networks:
              lab: {provider: kvm, cidr: 10.42.0.0/24}
            modules:
              web:
                source: ../modules/nodes
                inputs: {workers: 2, network: "${networks.lab.name}"}
              api:
                source: ../modules/nodes
                inputs: {workers: 1, network: "${networks.lab.name}", memory: 512MiB}
            outputs:
              web_names: ${module.web.outputs.names}
            """) + extra,
    }


def test_a_module_used_twice_gives_two_sets_of_resources_named_apart(tmp_path: Path) -> None:
    stack = load(tmp_path, two_uses())
    by_address = {str(r.address): r for r in stack.resources}
    assert {a for a in by_address if a.startswith("module.")} == {
        "module.web.networks.inner", "module.web.volumes.data", "module.web.guests.node-0",
        "module.web.guests.node-1", "module.web.guests.db",
        "module.api.networks.inner", "module.api.volumes.data", "module.api.guests.node-0",
        "module.api.guests.db"}
    node = by_address["module.web.guests.node-1"]
    assert node.address == Address(Kind.GUEST, "node-1", ("web",))
    assert node.name == "web-node-1"  # its name on the hypervisor
    assert node.spec["memory"] == 256 * 2**20
    assert by_address["module.api.guests.node-0"].spec["memory"] == 512 * 2**20
    assert [n["network"] for n in node.spec["networks"]] == ["lab", "web-inner"]
    assert set(node.deps) == {Address(Kind.NETWORK, "lab"),
                              Address(Kind.NETWORK, "inner", ("web",))}
    db = by_address["module.api.guests.db"]
    assert db.spec["disks"][0]["volume"] == "api-data"
    assert set(db.deps) == {Address(Kind.VOLUME, "data", ("api",)),
                            Address(Kind.GUEST, "node-0", ("api",))}
    assert stack.outputs["web_names"].value == "${guests.web-node[*].name}"
    assert stack.groups[Address(Kind.GUEST, "web-node")] == [
        Address(Kind.GUEST, "node-0", ("web",)), Address(Kind.GUEST, "node-1", ("web",))]
    assert stack.declared_as[Address(Kind.GUEST, "node", ("web",))] == \
        Address(Kind.GUEST, "web-node")


def test_a_module_file_change_changes_the_stack_digest(tmp_path: Path) -> None:
    before = load(tmp_path, two_uses()).digest
    files = two_uses()
    files["modules/nodes/main.yaml"] = NODE_MODULE.replace("256MiB", "384MiB")
    assert load(tmp_path, files).digest != before


def test_nested_modules_join_their_paths(tmp_path: Path) -> None:
    stack = load(tmp_path, {
        "modules/inner/main.yaml": """\
            apiVersion: provisioner/v1
            variables: {size: {type: string}}
            volumes:
              disk: {provider: hv, size: "${var.size}"}
            outputs:
              disk: ${volumes.disk.name}
            """,
        "modules/outer/main.yaml": """\
            apiVersion: provisioner/v1
            modules:
              store:
                source: ../inner
                inputs: {size: 2GiB}
            outputs:
              disk: ${module.store.outputs.disk}
            """,
        "stack/main.yaml": HEAD + dedent("""\
            modules:
              site:
                source: ../modules/outer
                providers: {hv: kvm}
            outputs:
              disk: ${module.site.outputs.disk}
            """),
    })
    (volume,) = stack.resources
    assert str(volume.address) == "module.site.module.store.volumes.disk"
    assert volume.name == "site-store-disk"
    assert volume.provider == "kvm"
    assert stack.outputs["disk"].value == "${volumes.site-store-disk.name}"


@pytest.mark.parametrize(("prefix", "name"), [("''", "data"), ("lab1-", "lab1-data")])
def test_name_prefix_replaces_the_module_path(tmp_path: Path, prefix: str, name: str) -> None:
    stack = load(tmp_path, {
        "modules/m/main.yaml": """\
            apiVersion: provisioner/v1
            volumes:
              data: {provider: kvm, size: 1GiB}
            """,
        "stack/main.yaml": HEAD + dedent(f"""\
            modules:
              m: {{source: ../modules/m, name_prefix: {prefix}}}
            """),
    })
    (volume,) = stack.resources
    assert (str(volume.address), volume.name) == ("module.m.volumes.data", name)


def test_a_disabled_module_declares_nothing(tmp_path: Path) -> None:
    files = two_uses()
    files["stack/main.yaml"] = files["stack/main.yaml"].replace(
        "    source: ../modules/nodes\n    inputs: {workers: 1",
        "    source: ../modules/nodes\n    enabled: false\n    inputs: {workers: 1")
    files["stack/main.yaml"] = files["stack/main.yaml"].replace(
        "  api:\n", "  api:\n", 1)
    stack = load(tmp_path, files)
    assert not any(r.address.module == ("api",) for r in stack.resources)
    assert any(r.address.module == ("web",) for r in stack.resources)


def test_inputs_are_checked_at_the_callers_line(tmp_path: Path) -> None:
    found = problems(tmp_path, {
        "modules/nodes/main.yaml": NODE_MODULE,
        "stack/main.yaml": HEAD + dedent("""\
            modules:
              web:
                source: ../modules/nodes
                inputs: {workers: two, netwrk: lab}
            """),
    })
    assert any("main.yaml:8:23: modules.web.inputs.workers: input 'workers' is 'two', "
               "which is not an integer" in p for p in found), found
    assert any("main.yaml:8:36: modules.web.inputs.netwrk: module web has no input "
               "'netwrk'" in p for p in found)
    assert any("main.yaml:6:3: modules.web: module web needs input 'network'" in p
               and "the network the nodes join" in p for p in found)


def test_a_problem_inside_a_module_names_the_module_file(tmp_path: Path) -> None:
    found = problems(tmp_path, {
        "modules/m/main.yaml": """\
            apiVersion: provisioner/v1
            guests:
              web:
                provider: kvm
                memory: lots
                networks: [{network: nowhere}]
            """,
        "stack/main.yaml": HEAD + "modules:\n  m: {source: ../modules/m}\n",
    })
    assert any(p.startswith("modules/m/main.yaml:5:13: module.m.guests.web.memory:")
               for p in found), found
    assert any(p.startswith("modules/m/main.yaml:6:26: module.m.guests.web.networks[0].network: "
                            "network 'nowhere' is not declared in module m") for p in found), found


@pytest.mark.parametrize("key", ["stack: other", "providers: {kvm: {type: libvirt}}",
                                 "state: {backend: local}"])
def test_a_module_has_no_stack_providers_or_state(tmp_path: Path, key: str) -> None:
    found = problems(tmp_path, {
        "modules/m/main.yaml": f"apiVersion: provisioner/v1\n{key}\n",
        "stack/main.yaml": HEAD + "modules:\n  m: {source: ../modules/m}\n",
    })
    name = key.partition(":")[0]
    assert any(p.startswith(f"modules/m/main.yaml:2:1: {name}: a module has no "
                            f"`{name}:` of its own") for p in found), found


def test_module_sources_stay_in_the_repository(tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    (outside / "m").mkdir(parents=True)
    (outside / "m" / "main.yaml").write_text("apiVersion: provisioner/v1\n")
    found = problems(tmp_path / "repo", {
        "stack/main.yaml": HEAD + "modules:\n  m: {source: ../../outside/m}\n"})
    assert "main.yaml:6:15: modules.m.source: module source ../../outside/m: " in found[0]
    assert "outside the directories provisioner may use files from" in found[0]


def test_a_module_that_uses_itself_is_refused(tmp_path: Path) -> None:
    found = problems(tmp_path, {
        "modules/loop/main.yaml": "apiVersion: provisioner/v1\n"
                                  "modules:\n  again: {source: .}\n",
        "stack/main.yaml": HEAD + "modules:\n  m: {source: ../modules/loop}\n"})
    assert any("modules.again.source: module . uses itself" in p for p in found), found


def test_a_flat_name_taken_by_the_stack_is_refused(tmp_path: Path) -> None:
    found = problems(tmp_path, {
        "modules/m/main.yaml": "apiVersion: provisioner/v1\n"
                               "volumes:\n  data: {provider: kvm, size: 1GiB}\n",
        "stack/main.yaml": HEAD + "volumes:\n  m-data: {provider: kvm, size: 1GiB}\n"
                                  "modules:\n  m: {source: ../modules/m}\n"})
    assert any("volumes.data of module m is named m-data on the hypervisor" in p
               for p in found), found


def test_a_sensitive_value_stays_sensitive_through_a_module(tmp_path: Path) -> None:
    files = {
        "modules/m/main.yaml": """\
            apiVersion: provisioner/v1
            variables: {secret: {type: string}}
            volumes:
              data: {provider: kvm, size: 1GiB, pool: "${var.secret}"}
            outputs:
              token: ${var.secret}
            """,
        "stack/main.yaml": HEAD + dedent("""\
            variables: {token: {default: hunter2-canary, sensitive: true}}
            modules:
              m: {source: ../modules/m, inputs: {secret: "${var.token}"}}
            """),
    }
    found = problems(tmp_path, files)
    assert all("hunter2-canary" not in p for p in found)
    assert any("modules/m/main.yaml:4:43: module.m.volumes.data.pool: the sensitive "
               "variable 'secret' would be shown in plans here" in p for p in found), found


def test_a_cloud_init_file_of_a_module_is_read_from_its_directory(tmp_path: Path) -> None:
    stack = load(tmp_path, {
        "modules/m/user.yaml": "#cloud-config\nhostname: from-the-module\n",
        "modules/m/main.yaml": """\
            apiVersion: provisioner/v1
            guests:
              web: {provider: kvm, cloud_init: {user_data: user.yaml}}
            """,
        "stack/main.yaml": HEAD + "modules:\n  m: {source: ../modules/m}\n"})
    (guest,) = stack.resources
    assert guest.spec["cloud_init"]["user_data"].content == \
        b"#cloud-config\nhostname: from-the-module\n"


@pytest.mark.parametrize(("moved", "expected"), [
    ("{from: volumes.data, to: module.m.volumes.data}",
     "stack/main.yaml:10:12: moved[0].from: volumes.data is still declared"),
    ("{from: volumes.old, to: module.m.volumes.dta}",
     "stack/main.yaml:10:29: moved[0].to: module.m.volumes.dta is not declared"),
    ("{from: guests.old, to: module.m.volumes.data}",
     "stack/main.yaml:10:28: moved[0].to: guests.old is a guest and module.m.volumes.data a "
     "volume"),
    ("{from: volumes.x_y, to: module.m.volumes.data}",
     "stack/main.yaml:10:12: moved[0].from: 'volumes.x_y' is not an address like guests.web-0"),
])
def test_moved_blocks_are_checked_at_their_lines(tmp_path: Path, moved: str,
                                                  expected: str) -> None:
    found = problems(tmp_path, {
        "modules/m/main.yaml": "apiVersion: provisioner/v1\n"
                               "volumes:\n  data: {provider: kvm, size: 1GiB}\n",
        "stack/main.yaml": HEAD + "volumes:\n  data: {provider: kvm, size: 1GiB}\n"
                                  "modules:\n  m: {source: ../modules/m}\n"
                                  f"moved:\n  - {moved}\n"})
    assert any(p.startswith(expected) for p in found), found


def test_a_moved_group_and_a_module_group_are_declared_targets(tmp_path: Path) -> None:
    stack = load(tmp_path, {
        "modules/m/main.yaml": "apiVersion: provisioner/v1\n"
                               "guests:\n  web: {provider: kvm, count: 2}\n",
        "stack/main.yaml": HEAD + "modules:\n  m: {source: ../modules/m}\n"
                                  "moved:\n  - {from: guests.web, to: module.m.guests.web}\n"})
    (move,) = stack.moves
    assert (str(move.before), str(move.after)) == ("guests.web", "module.m.guests.web")
    assert move.source.startswith("stack/main.yaml:8:5")


def test_for_each_on_a_module_makes_one_instance_per_key(tmp_path: Path) -> None:
    stack = load(tmp_path, {
        "modules/m/main.yaml": """\
            apiVersion: provisioner/v1
            variables: {size: {type: string}, label: {type: string}}
            volumes:
              data: {provider: kvm, size: "${var.size}", pool: "${var.label}"}
            """,
        "stack/main.yaml": HEAD + dedent("""\
            modules:
              store:
                source: ../modules/m
                for_each: {a: 1GiB, b: 2GiB}
                inputs: {size: "${each.value}", label: "pool-${upper(each.key)}"}
            """),
    })
    found = {str(r.address): (r.name, r.spec["size"], r.spec["pool"]) for r in stack.resources}
    assert found == {"module.store-a.volumes.data": ("store-a-data", 2**30, "pool-A"),
                     "module.store-b.volumes.data": ("store-b-data", 2 * 2**30, "pool-B")}


def test_each_in_a_module_call_without_for_each_is_refused(tmp_path: Path) -> None:
    found = problems(tmp_path, {
        "modules/m/main.yaml": "apiVersion: provisioner/v1\nvariables: {x: {}}\n",
        "stack/main.yaml": HEAD + "modules:\n  m: {source: ../modules/m, inputs: "
                                  "{x: '${each.key}'}}\n"})
    assert any("modules.m.inputs.x: '${each.key}' is known only in a module or resource "
               "with for_each" in p for p in found), found


def test_a_disabled_modules_resources_are_disabled_and_its_outputs_empty(
        tmp_path: Path) -> None:
    stack = load(tmp_path, {
        "modules/m/main.yaml": "apiVersion: provisioner/v1\n"
                               "guests:\n  db: {provider: kvm}\n"
                               "outputs:\n  db: ${guests.db[*].name}\n",
        "stack/main.yaml": HEAD + "modules:\n  m: {source: ../modules/m, enabled: false}\n"
                                  "outputs:\n  db: ${module.m.outputs.db}\n"})
    assert stack.resources == ()
    assert Address(Kind.GUEST, "db", ("m",)) in stack.disabled  # (the plan's reason)
    assert stack.outputs["db"].value == "${guests.m-db[*].name}"
    assert stack.output_groups()[Address(Kind.GUEST, "m-db")] == []


def test_a_module_output_that_names_a_resource_may_be_used_by_resources(
        tmp_path: Path) -> None:
    files = {
        "modules/net/main.yaml": "apiVersion: provisioner/v1\n"
                                 "networks:\n  lab: {provider: kvm, cidr: 10.9.0.0/24}\n"
                                 "guests:\n  probe: {provider: kvm}\n"
                                 "outputs:\n  network: ${networks.lab.name}\n"
                                 "  probe_ip: ${guests.probe.ip}\n",
        "stack/main.yaml": HEAD + dedent("""\
            modules:
              net: {source: ../modules/net}
              web:
                source: ../modules/nodes
                inputs: {workers: 1, network: "${module.net.outputs.network}"}
            guests:
              solo: {provider: kvm, networks: [{network: "${module.net.outputs.network}"}]}
            """),
        "modules/nodes/main.yaml": NODE_MODULE,
    }
    stack = load(tmp_path, files)
    solo = stack.resource(Address(Kind.GUEST, "solo"))
    assert solo is not None and solo.spec["networks"][0]["network"] == "net-lab"
    assert Address(Kind.NETWORK, "lab", ("net",)) in solo.deps
    node = stack.resource(Address(Kind.GUEST, "node-0", ("web",)))
    assert node is not None and node.spec["networks"][0]["network"] == "net-lab"
    files["stack/main.yaml"] = files["stack/main.yaml"].replace(
        "outputs.network}\"}]}", "outputs.probe_ip}\"}]}")
    found = problems(tmp_path, files)
    assert any("guests.solo.networks[0].network: '${module.net.outputs.probe_ip}' is known "
               "only after apply" in p for p in found), found
