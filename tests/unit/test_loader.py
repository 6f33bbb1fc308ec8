"""load_stack on valid stacks: what the planner receives."""

from __future__ import annotations

from pathlib import Path
from textwrap import dedent

import pytest

from provisioner.core.address import Address, Kind
from provisioner.core.resources import Blob
from provisioner.errors import Position
from provisioner.stack.loader import Stack, load_stack
from provisioner.stack.variables import VariableInputs

GiB = 1024**3
HEAD = """\
apiVersion: provisioner/v1
stack: lab
providers:
  kvm: {type: libvirt, uri: "test:///default"}
"""


def load(
    tmp_path: Path,
    body: str,
    inputs: VariableInputs | None = None,
    environ: dict[str, str] | None = None,
) -> Stack:
    path = tmp_path / "stack.yaml"
    path.write_text(HEAD + dedent(body))
    return load_stack(path, inputs, environ or {}, cwd=tmp_path)


def guest(name: str) -> Address:
    return Address(Kind.GUEST, name)


def spec(stack: Stack, address: Address) -> dict[str, object]:
    resource = stack.resource(address)
    assert resource is not None, f"{address} not in {[str(r.address) for r in stack.resources]}"
    return dict(resource.spec)


def test_minimal_stack(tmp_path: Path) -> None:
    stack = load(tmp_path, "guests:\n  web: {provider: kvm}\n")
    assert stack.name == "lab"
    assert [str(r.address) for r in stack.resources] == ["guests.web"]
    web = stack.resources[0]
    assert web.provider == "kvm"
    assert web.position == Position("stack.yaml", 6, 3)
    assert web.spec["cpus"] == 1 and web.spec["memory"] == GiB
    assert stack.providers["kvm"].type_name == "libvirt"
    assert stack.providers["kvm"].config.uri == "test:///default"  # type: ignore[attr-defined]


def test_sizes_become_bytes(tmp_path: Path) -> None:
    stack = load(tmp_path, """\
        volumes:
          data: {provider: kvm, size: 20G}
        guests:
          web: {provider: kvm, memory: 512MiB, disks: [{size: 10GB}]}
        """)
    assert spec(stack, Address(Kind.VOLUME, "data"))["size"] == 20 * GiB
    web = spec(stack, guest("web"))
    assert web["memory"] == 512 * 1024**2
    assert web["disks"][0]["size"] == 10 * 1000**3  # type: ignore[index]


def test_count_expands_into_numbered_instances(tmp_path: Path) -> None:
    stack = load(tmp_path, """\
        guests:
          web:
            provider: kvm
            count: 3
            image: "debian-${count.index}"
            cloud_init: {user_data: "#cloud-config\\nhostname: web-${count.index}\\n"}
          db: {provider: kvm}
        """)
    assert [str(r.address) for r in stack.resources] == [
        "guests.web-0", "guests.web-1", "guests.web-2", "guests.db"]
    assert stack.groups[guest("web")] == [guest("web-0"), guest("web-1"), guest("web-2")]
    assert stack.groups[guest("db")] == [guest("db")]
    assert [spec(stack, guest(f"web-{i}"))["image"] for i in range(3)] == [
        "debian-0", "debian-1", "debian-2"]
    user_data = spec(stack, guest("web-2"))["cloud_init"]["user_data"]  # type: ignore[index]
    assert user_data.content == b"#cloud-config\nhostname: web-2\n"
    assert [r.order for r in stack.resources] == [0, 1, 2, 3]


def test_count_zero_declares_no_instance(tmp_path: Path) -> None:
    stack = load(tmp_path, "guests:\n  web: {provider: kvm, count: 0}\n")
    assert stack.resources == ()
    assert stack.groups[guest("web")] == []


def test_variable_default_keeps_its_type(tmp_path: Path) -> None:
    stack = load(tmp_path, """\
        variables:
          cpus: {default: 2}
          image: {default: debian-12}
        guests:
          web: {provider: kvm, cpus: "${var.cpus}", image: "${var.image}-cloud"}
        """)
    web = spec(stack, guest("web"))
    assert web["cpus"] == 2
    assert web["image"] == "debian-12-cloud"
    assert stack.variables == {"cpus": 2, "image": "debian-12"}


BODY_WITH_VARIABLES = """\
variables:
  cpus: {type: integer, default: 2}
  image: {default: debian-12}
  autostart: {type: boolean, default: false}
guests:
  web: {provider: kvm, cpus: "${var.cpus}", image: "${var.image}", autostart: "${var.autostart}"}
"""


def test_var_on_the_command_line_is_parsed_by_the_declared_type(tmp_path: Path) -> None:
    stack = load(tmp_path, BODY_WITH_VARIABLES,
                 VariableInputs(assignments=["cpus=4", "image=4", "autostart=true"]))
    web = spec(stack, guest("web"))
    assert web["cpus"] == 4
    assert web["image"] == "4"  # a string variable keeps the text as written
    assert web["autostart"] is True


def test_var_file_then_var_override_the_default(tmp_path: Path) -> None:
    var_file = tmp_path / "prod.vars.yaml"
    var_file.write_text("cpus: 8\nimage: ubuntu-24.04\n")
    stack = load(tmp_path, BODY_WITH_VARIABLES,
                 VariableInputs(assignments=["cpus=16"], files=[var_file]))
    web = spec(stack, guest("web"))
    assert web["cpus"] == 16  # --var wins over --var-file
    assert web["image"] == "ubuntu-24.04"  # --var-file wins over the default


def test_variable_values_change_the_digest(tmp_path: Path) -> None:
    first = load(tmp_path, BODY_WITH_VARIABLES)
    second = load(tmp_path, BODY_WITH_VARIABLES, VariableInputs(assignments=["cpus=3"]))
    assert first.digest.startswith("sha256:")
    assert first.digest != second.digest
    assert first.digest == load(tmp_path, BODY_WITH_VARIABLES).digest


def test_sensitive_variables_are_not_kept_for_outputs(tmp_path: Path) -> None:
    stack = load(tmp_path, """\
        variables:
          password: {default: hunter2, sensitive: true}
          image: {default: debian-12}
        guests:
          web: {provider: kvm}
        """)
    assert stack.variables == {"image": "debian-12"}


def test_environment_values(tmp_path: Path) -> None:
    stack = load(tmp_path, """\
        guests:
          web:
            provider: kvm
            image: debian-${env.LAB_RELEASE}
            cloud_init: {user_data: "#cloud-config\\n# $${not.substituted}\\n"}
        """, environ={"LAB_RELEASE": "12"})
    web = spec(stack, guest("web"))
    assert web["image"] == "debian-12"
    assert web["cloud_init"]["user_data"].content == (  # type: ignore[index]
        b"#cloud-config\n# ${not.substituted}\n")


def test_cloud_init_file_is_read_into_a_blob(tmp_path: Path) -> None:
    (tmp_path / "web.cloud.yaml").write_text("#cloud-config\npackages: [nginx]\n")
    stack = load(tmp_path, """\
        guests:
          web:
            provider: kvm
            count: 2
            cloud_init: {user_data: web.cloud.yaml, meta_data: "#inline\\n", on_change: reboot}
        """)
    cloud_init = spec(stack, guest("web-0"))["cloud_init"]
    user_data = cloud_init["user_data"]  # type: ignore[index]
    assert isinstance(user_data, Blob)
    assert user_data.label == "web.cloud.yaml"
    assert user_data.content == b"#cloud-config\npackages: [nginx]\n"
    assert user_data == Blob.of("x", b"#cloud-config\npackages: [nginx]\n")  # by digest
    assert cloud_init["meta_data"].label == "(inline)"  # type: ignore[index]
    assert cloud_init["network_config"] is None  # type: ignore[index]
    assert "on_change" not in cloud_init  # type: ignore[operator]
    assert stack.resources[0].effect_overrides == {"cloud_init": "requires restart"}


def test_references_become_dependencies(tmp_path: Path) -> None:
    stack = load(tmp_path, """\
        networks:
          lab: {provider: kvm, cidr: 10.42.0.0/24}
        volumes:
          data: {provider: kvm, size: 20GiB}
        guests:
          web:
            provider: kvm
            count: 2
            networks: [{network: lab}]
          db:
            provider: kvm
            disks: [{volume: data}]
            networks: [{network: lab}, {bridge: br0}]
            depends_on: [guests.web, networks.lab]
          cache:
            provider: kvm
            depends_on: [guests.web-1]
        """)
    lab, data = Address(Kind.NETWORK, "lab"), Address(Kind.VOLUME, "data")
    assert stack.resource(guest("web-0")).deps == (lab,)  # type: ignore[union-attr]
    assert stack.resource(guest("db")).deps == (  # type: ignore[union-attr]
        lab, data, guest("web-0"), guest("web-1"))
    assert stack.resource(guest("cache")).deps == (guest("web-1"),)  # type: ignore[union-attr]
    assert stack.resource(lab).deps == ()  # type: ignore[union-attr]


def test_directory_stack_merges_its_files(tmp_path: Path) -> None:
    (tmp_path / "main.yaml").write_text(
        HEAD + "networks:\n  lab: {provider: kvm, cidr: 10.0.0.0/24}\n")
    (tmp_path / "guests.yml").write_text(dedent("""\
        apiVersion: provisioner/v1
        guests:
          web: {provider: kvm, networks: [{network: lab}], cloud_init: {user_data: web.yaml}}
        """))
    (tmp_path / "web.yaml").write_text("#cloud-config\nhostname: web\n")  # not a stack file
    (tmp_path / "notes.txt").write_text("ignored")
    stack = load_stack(tmp_path, environ={}, cwd=tmp_path)
    assert [p.name for p in stack.files] == ["guests.yml", "main.yaml"]
    assert [str(r.address) for r in stack.resources] == ["guests.web", "networks.lab"]
    web = stack.resource(guest("web"))
    assert web is not None and web.position == Position("guests.yml", 3, 3)
    assert web.deps == (Address(Kind.NETWORK, "lab"),)
    assert stack.root == tmp_path.resolve()


def test_outputs(tmp_path: Path) -> None:
    stack = load(tmp_path, """\
        guests:
          web: {provider: kvm, count: 2}
        outputs:
          web_ips: ${guests.web[*].ip}
          first:
            value: ${guests.web-0.name}
            description: the first web server
        """)
    assert stack.outputs["web_ips"].value == "${guests.web[*].ip}"
    assert stack.outputs["first"].description == "the first web server"


@pytest.mark.parametrize("memory", ["2GiB", "2048MiB", "2G", "2 GiB"])
def test_size_spellings(tmp_path: Path, memory: str) -> None:
    stack = load(tmp_path, f"guests:\n  web: {{provider: kvm, memory: {memory}}}\n")
    assert spec(stack, guest("web"))["memory"] == 2 * GiB
