"""Free text that reaches a hypervisor's XML is refused at plan time, at its line.

libvirt writes a network's ``<domain name='%s'>`` and a domain's ``machine='%s'``
without escaping them: a quote there was stored as XML that no later read could
parse (plan, apply and destroy all failed until virsh repaired it), and a crafted
value added elements of its own. Each case below planned with exit 0 before.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from support.hostile_cli import line_of, run, write

NETWORK = "networks:\n  lab: {{ provider: kvm, mode: {mode}, cidr: 10.9.0.0/24{extra} }}\n"
GUEST = """\
guests:
  web:
    provider: kvm
    memory: 256MiB
    disks: [ {{ size: 1GiB{disk} }} ]
    networks: [ {{ {nic} }} ]
    options: {{ {options} }}
"""

CASES = {
    "network domain with a quote": (
        NETWORK.format(mode="nat", extra=", domain: \"it's.example\""),
        "it's.example", "networks.lab.domain", "is not a DNS domain name"),
    "network domain adding an element": (
        NETWORK.format(mode="nat", extra=", domain: \"x'/><forward mode='open'/><domain name='y\""),
        "forward mode", "networks.lab.domain", "is not a DNS domain name"),
    "network bridge with a quote": (
        NETWORK.format(mode="bridge", extra=", bridge: \"br0'\""),
        "br0'", "networks.lab.bridge", "is not a host interface name"),
    "machine type with a quote": (
        GUEST.format(disk="", nic="bridge: br0", options="machine: \"pc'\""),
        "machine", "guests.web.options.machine", "is not a machine type"),
    "NIC model with markup": (
        GUEST.format(disk="", nic="bridge: br0, model: \"virtio'/><x a='\"", options=""),
        "model", "guests.web.networks[0].model", "is not a NIC model"),
    "disk slot with a quote": (
        GUEST.format(disk=", slot: \"vdb'\"", nic="bridge: br0", options=""),
        "slot", "guests.web.disks[0].slot", "is not a disk slot"),
    "host network with a quote": (
        GUEST.format(disk="", nic="host_network: \"o'brien\"", options=""),
        "host_network", "guests.web.networks[0].host_network", "which this name cannot hold"),
    "kernel path with a quote": (
        GUEST.format(disk="", nic="bridge: br0", options="kernel: \"/boot/vm'linuz\""),
        "kernel", "guests.web.options.kernel", "which this name cannot hold"),
}


@pytest.mark.parametrize("case", CASES, ids=list(CASES))
def test_free_text_reaching_xml_is_refused_at_its_line(tmp_path: Path, case: str) -> None:
    body, marker, key, message = CASES[case]
    stack = write(tmp_path, body)
    for command in ("validate", "plan"):
        result = run(command, str(tmp_path))
        assert result.returncode == 1, result.stdout
        assert f"stack.yaml:{line_of(stack, marker)}:" in result.stderr
        assert f"{key}: " in result.stderr and message in result.stderr, result.stderr
        assert "internal error" not in result.stderr


def test_the_same_fields_with_plain_values_plan(tmp_path: Path) -> None:
    write(tmp_path, NETWORK.format(mode="nat", extra=", domain: lab.example")
          + GUEST.format(disk=", slot: vdb", nic="network: lab, model: e1000",
                         options="machine: pc-q35-7.2"))
    result = run("plan", str(tmp_path))
    assert result.returncode == 0, result.stderr
    assert 'domain: "lab.example"' in result.stdout


def test_a_proxmox_machine_type_is_checked_without_connecting(tmp_path: Path) -> None:
    (tmp_path / "stack.yaml").write_text(
        "apiVersion: provisioner/v1\nstack: hostile\nproviders:\n"
        "  pve: { type: proxmox, endpoint: \"https://pve.invalid:8006\", "
        "token_id: \"ci@pve!x\", token_secret: \"${env.PVE_SECRET}\" }\n"
        "guests:\n  db: { provider: pve, node: pve1, memory: 1GiB, "
        "options: { machine: \"q35'\", cpu_type: \"host\\u0007\" } }\n")
    result = run("validate", str(tmp_path))
    assert result.returncode == 1
    assert "guests.db.options.machine: 'q35'' is not a machine type" in result.stderr
    assert "guests.db.options.cpu_type: 'host\\x07' is not a valid value here" in result.stderr
    assert "\x07" not in result.stderr


@pytest.mark.parametrize(("notes", "refused"), [
    ('"built by CI\\nsecond line"', False),
    ('"built by CI\\u0000"', True),
    ('"\\u001b[2Jcleared"', True),
])
def test_vsphere_notes_carry_no_control_characters(tmp_path: Path, notes: str,
                                                   refused: bool) -> None:
    # XML 1.0 (vSphere's SOAP, XAPI's XML-RPC) cannot carry them: refused at the line
    (tmp_path / "stack.yaml").write_text(
        "apiVersion: provisioner/v1\nstack: hostile\nproviders:\n"
        "  vc: { type: vsphere, server: vc.invalid, username: ci, "
        "password: \"${env.VSPHERE_PASSWORD}\" }\n"
        f"guests:\n  web: {{ provider: vc, memory: 1GiB, clone: tmpl, "
        f"options: {{ notes: {notes}, datastore: \"ds'1\" }} }}\n")
    result = run("validate", str(tmp_path))
    assert result.returncode == 1
    assert "guests.web.options.datastore: 'ds'1' holds '" in result.stderr
    assert ("guests.web.options.notes" in result.stderr) is refused, result.stderr
    assert "\x1b" not in result.stderr and "\x00" not in result.stderr
