"""Values that passed the plan and failed the apply are refused at plan time, at the line.

Each case planned with exit 0 before, then failed half-way through an apply
(``Unknown disk name 'vd{'``, ``internal error: ValueError``) or left a perpetual
diff (``memory: 1KiB -> 1536B``). A control character in a value is never written
raw to the terminal.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from support.hostile_cli import line_of, run, write

GUEST = """\
guests:
  web:
    provider: kvm
    memory: {memory}
    disks: [ {disks} ]
    options: {{ {options} }}
"""


def guest(memory: str = "256MiB", disks: str = "{ size: 1GiB }", options: str = "") -> str:
    return GUEST.format(memory=memory, disks=disks, options=options)


CASES = {
    "a disk of 0B": (guest(disks="{ size: 0B }"), "size: 0B", "guests.web.disks[0].size",
                     "a size of 0 bytes holds nothing"),
    "a volume of 0B": ("volumes:\n  data: { provider: kvm, size: 0B }\n", "size: 0B",
                       "volumes.data.size", "a size of 0 bytes holds nothing"),
    "memory of 0B": (guest(memory="0B"), "memory: 0B", "guests.web.memory",
                     "a size of 0 bytes holds nothing"),
    "memory libvirt cannot store": (
        guest(memory="1536B"), "memory: 1536B", "guests.web.memory",
        "1536B is not a whole number of KiB, the unit libvirt stores memory in"),
    "thirty disks": (guest(disks=", ".join(["{ size: 1GiB }"] * 30)), "disks:",
                     "guests.web: disks[26]", "no virtio disk target is left (vda to vdz"),
    "two disks in one slot": (guest(disks="{ size: 1GiB, slot: vdb }, { size: 1GiB, slot: vdb }"),
                              "disks:", "guests.web.disks[1].slot", "slot vdb is also disks[0]'s"),
    "a slot libvirt has no name for": (guest(disks="{ size: 1GiB, slot: vdaa }"), "disks:",
                                       "guests.web: disks[0].slot",
                                       "'vdaa' is not a libvirt disk target"),
    "dhcp_range from the network address": (
        "networks:\n  lab: { provider: kvm, mode: nat, cidr: 10.9.0.0/24,\n"
        "         dhcp_range: { start: 10.9.0.0, end: 10.9.0.50 } }\n", "dhcp_range",
        "networks.lab.dhcp_range.start", "10.9.0.0 is the network address of 10.9.0.0/24"),
    "dhcp_range to the broadcast address": (
        "networks:\n  lab: { provider: kvm, mode: nat, cidr: 10.9.0.0/24,\n"
        "         dhcp_range: { start: 10.9.0.2, end: 10.9.0.255 } }\n", "dhcp_range",
        "networks.lab.dhcp_range.end", "10.9.0.255 is the broadcast address of 10.9.0.0/24"),
    "a qcow2 volume on two guests": (
        "volumes:\n  data: { provider: kvm, size: 1GiB }\n"
        + guest(disks="{ size: 1GiB }, { volume: data }").replace("memory:",
                                                                  "count: 2\n    memory:"),
        "volume: data", "guests.web.disks[1].volume",
        "volume data is qcow2 and would be attached to the 2 instances of guests.web"),
    "a /31 network": ("networks:\n  lab: { provider: kvm, mode: nat, cidr: 10.9.0.0/31 }\n",
                      "  lab:", "networks.lab", "leaves no address for guests"),
}


@pytest.mark.parametrize("case", CASES, ids=list(CASES))
def test_a_value_the_apply_would_refuse_stops_the_plan_at_its_line(tmp_path: Path,
                                                                   case: str) -> None:
    body, marker, key, message = CASES[case]
    stack = write(tmp_path, body)
    result = run("plan", str(tmp_path))
    assert result.returncode == 1, result.stdout
    assert f"stack.yaml:{line_of(stack, marker)}:" in result.stderr, result.stderr
    assert key in result.stderr and message in result.stderr, result.stderr
    assert "internal error" not in result.stderr


def test_memory_names_the_nearest_values(tmp_path: Path) -> None:
    write(tmp_path, guest(memory="1536B"))
    assert "hint: write 1KiB or 2KiB" in run("validate", str(tmp_path)).stderr


@pytest.mark.parametrize(("memory", "refused"), [("1000KiB", True), ("1537MiB", False)])
def test_memory_units_follow_the_provider(tmp_path: Path, memory: str, refused: bool) -> None:
    # Proxmox stores MiB: 1000KiB is not a whole number of them; 1537MiB is.
    (tmp_path / "stack.yaml").write_text(
        "apiVersion: provisioner/v1\nstack: hostile\nproviders:\n"
        "  pve: { type: proxmox, endpoint: \"https://pve.invalid:8006\", "
        "token_id: \"ci@pve!x\", token_secret: \"${env.PVE_SECRET}\" }\n"
        f"guests:\n  db: {{ provider: pve, node: pve1, memory: {memory} }}\n")
    result = run("validate", str(tmp_path))
    if refused:
        assert result.returncode == 1
        assert "is not a whole number of MiB, the unit proxmox stores memory in" in result.stderr
        assert "hint: write 1MiB" in result.stderr
    else:
        assert result.returncode == 0, result.stderr


def test_a_cmdline_with_control_characters_is_refused_and_never_echoed_raw(
        tmp_path: Path) -> None:
    stack = write(tmp_path, guest(options='kernel: /boot/vmlinuz, cmdline: "console=ttyS0'
                                          '\\u0000\\u001b[2J\\u001b[31mroot=/dev/vda"'))
    result = run("plan", str(tmp_path))
    assert result.returncode == 1
    assert f"stack.yaml:{line_of(stack, 'cmdline:')}:" in result.stderr
    assert "guests.web.options.cmdline" in result.stderr
    assert "holds control characters (\\x00, \\x1b)" in result.stderr
    assert "\x1b" not in result.stderr and "\x00" not in result.stderr


def test_an_unknown_key_with_an_escape_sequence_is_printed_escaped(tmp_path: Path) -> None:
    write(tmp_path, 'guests:\n  web: { provider: kvm, "m\\u001b[31memory": 1GiB }\n')
    result = run("validate", str(tmp_path))
    assert result.returncode == 1
    assert "unknown key 'm\\x1b[31memory'" in result.stderr
    assert "\x1b" not in result.stderr


def test_a_fixed_ip_on_a_network_too_small_says_so(tmp_path: Path) -> None:
    # the hint said "pick one from 10.0.0.2 to 10.0.0.0" on a /31
    write(tmp_path, "networks:\n  lab: { provider: kvm, mode: isolated, cidr: 10.9.0.0/31 }\n"
          + guest().replace("disks:", "networks: [ { network: lab, ip: 10.9.0.1 } ]\n    disks:"))
    result = run("validate", str(tmp_path))
    assert result.returncode == 1
    assert "pick one from" not in result.stderr
    assert "leaves no address for guests" in result.stderr


def test_what_import_prints_validates(tmp_path: Path) -> None:
    # the test driver's sample domain has a disk file outside every pool: import printed
    # it as {bus: virtio, slot: vda}, which validate refused ("a disk needs size:...")
    stack = write(tmp_path, "", uri="test:///default")
    result = run("import", "guests.test", "test", str(tmp_path))
    assert result.returncode == 0, result.stderr
    printed = result.stdout.split("as it is now:\n", 1)[1].split("Run `provisioner plan`")[0]
    assert "# left out: disks[0] (vda)" in printed
    stack.write_text(stack.read_text().replace('uri: "test:///default" }',
                                               'uri: "test:///default", pool: default-pool }')
                     + printed)
    validated = run("validate", str(tmp_path))
    assert validated.returncode == 0, validated.stderr + printed
