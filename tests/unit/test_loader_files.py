"""Which YAML files of a stack directory are stack files.

A stack directory also holds the files its stack names (cloud-init user-data,
meta-data and network config, var files) and files of other tools; only the
stack's own files are read as stack files, and a file that looks like a stack
file but is broken is reported, never skipped.
"""

from __future__ import annotations

from pathlib import Path
from textwrap import dedent

import pytest

from provisioner.errors import StackError, UsageError
from provisioner.stack.loader import load_stack
from provisioner.stack.variables import VariableInputs

# The layout of docs/providers/vsphere.md: a stack, and beside it the user-data
# (with its header), a meta-data and a netplan network config (without one).
VSPHERE_STACK = """\
apiVersion: provisioner/v1
stack: lab
providers:
  vc:
    type: vsphere
    server: vcenter.lab.example
    username: provisioner@vsphere.local
    password: ${env.VSPHERE_PASSWORD}
guests:
  web:
    provider: vc
    clone: debian-12
    cloud_init:
      user_data: web.cloud.yaml
      meta_data: web.meta.yaml
      network_config: web.net.yaml
      on_change: reboot
"""
NETPLAN = """\
network:
  version: 2
  ethernets:
    ens192: {dhcp4: true}
"""
ENVIRON = {"VSPHERE_PASSWORD": "pw"}


def write(directory: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        (directory / name).write_text(dedent(text))
    return directory


def vsphere_layout(directory: Path) -> Path:
    return write(directory, {
        "stack.yaml": VSPHERE_STACK,
        "web.cloud.yaml": "#cloud-config\npackages: [nginx]\n",
        "web.meta.yaml": "local-hostname: web.lab.example\n",
        "web.net.yaml": NETPLAN,
    })


def test_the_vsphere_docs_layout_loads(tmp_path: Path) -> None:
    stack = load_stack(vsphere_layout(tmp_path), environ=ENVIRON, cwd=tmp_path)
    assert [p.name for p in stack.files] == ["stack.yaml"]
    cloud_init = stack.resources[0].spec["cloud_init"]
    assert cloud_init["network_config"].content == NETPLAN.encode()  # type: ignore[index]
    assert [(p.name, why) for p, why in stack.skipped] == [
        ("web.cloud.yaml", "cloud-init data (its first line is a cloud-init header)"),
        ("web.meta.yaml", "cloud_init.meta_data of guests.web"),
        ("web.net.yaml", "cloud_init.network_config of guests.web"),
    ]


def test_a_var_file_beside_the_stack_is_not_a_stack_file(tmp_path: Path) -> None:
    write(tmp_path, {"stack.yaml": VSPHERE_STACK.replace(
        "guests:", "variables:\n  stack: {default: x}\nguests:"),
        "web.cloud.yaml": "#cloud-config\n", "web.meta.yaml": "{}\n", "web.net.yaml": NETPLAN,
        "lab.vars.yaml": "stack: lab-2\n"})  # a stack key, yet a var file
    inputs = VariableInputs(files=(tmp_path / "lab.vars.yaml",))
    stack = load_stack(tmp_path, inputs, environ=ENVIRON, cwd=tmp_path)
    assert [p.name for p in stack.files] == ["stack.yaml"]
    assert ("lab.vars.yaml", "--var-file") in [(p.name, why) for p, why in stack.skipped]


def test_a_yaml_file_of_another_tool_is_skipped_with_a_note(tmp_path: Path) -> None:
    vsphere_layout(tmp_path)
    write(tmp_path, {"owners.yaml": "team: web\nslack: '#web'\n"})
    stack = load_stack(tmp_path, environ=ENVIRON, cwd=tmp_path)
    assert [p.name for p in stack.files] == ["stack.yaml"]
    assert ("owners.yaml", "no apiVersion, and no section of a stack") in [
        (p.name, why) for p, why in stack.skipped]


@pytest.mark.parametrize("text", [
    "apiversion: provisioner/v1\nguests:\n  db: {provider: vc}\n",
    "api_version: provisioner/v1\n",
    "guests:\n  db: {provider: vc}\n",
    "stack: lab\n",
])
def test_a_stack_file_without_apiversion_is_reported_not_skipped(tmp_path: Path,
                                                                 text: str) -> None:
    vsphere_layout(tmp_path)
    write(tmp_path, {"db.yaml": text})
    with pytest.raises(StackError) as caught:
        load_stack(tmp_path, environ=ENVIRON, cwd=tmp_path)
    problems = [p for p in caught.value.problems if p.position and p.position.file == "db.yaml"]
    assert problems, str(caught.value)
    assert "missing apiVersion" in problems[0].message
    assert problems[0].position is not None and problems[0].position.line == 1


def test_a_directory_without_stack_files_names_what_it_skipped(tmp_path: Path) -> None:
    write(tmp_path, {"web.net.yaml": NETPLAN})
    with pytest.raises(UsageError) as caught:
        load_stack(tmp_path, environ={}, cwd=tmp_path)
    assert "no stack files" in caught.value.message
    assert "web.net.yaml" in caught.value.message
    assert "apiVersion: provisioner/v1" in caught.value.hint


def test_a_stack_file_is_read_even_when_a_guest_names_it(tmp_path: Path) -> None:
    """apiVersion makes a stack file, whoever names it: its sections are not lost."""
    vsphere_layout(tmp_path)
    write(tmp_path, {"db.yaml": "apiVersion: provisioner/v1\nguests:\n  db: {provider: vc}\n"})
    text = (tmp_path / "stack.yaml").read_text().replace("web.meta.yaml", "db.yaml")
    (tmp_path / "stack.yaml").write_text(text)
    stack = load_stack(tmp_path, environ=ENVIRON, cwd=tmp_path)
    assert [p.name for p in stack.files] == ["db.yaml", "stack.yaml"]
