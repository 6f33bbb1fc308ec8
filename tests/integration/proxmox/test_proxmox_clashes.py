"""Fixed VMIDs and MACs someone else holds are refused by the plan, at their line.

Without the check, a VMID clash passes the plan and the apply fails half-way
("VM 3000 already exists"), and a MAC clash is applied without a word: two
NICs with one MAC. The plan names the holder (its VMID, node and owner), the
line that fixes the value, and writes nothing.
"""

from __future__ import annotations

import pytest
from pve_harness import Lab, TestPve, failures, guest

from provisioner.core.address import Address
from provisioner.errors import PlanError
from provisioner.plan.planner import PlanOptions

VMID_HINT = "  hint: choose another VMID, or leave options.vmid out to have one allocated"
MAC_HINT = "  hint: choose another MAC, or leave mac: out to have one generated"
MAC = "bc:24:11:aa:bb:01"


def _guest(name: str, options: str = "", nic: str = "", count: str = "") -> str:
    return f"""
  {name}:
    provider: pve
    clone: debian-12
    node: pve1{count}
    memory: 512MiB
    networks: [ {{ bridge: vmbr0{nic} }} ]
    options: {{ {options} }}
"""


def _stack(*guests: str) -> str:
    return "guests:" + "".join(guests)


def _refusal(lab: Lab, pve: TestPve, body: str) -> str:
    requests = len(pve.requests)
    with pytest.raises(PlanError) as failure:
        lab.plan(body)
    assert [r for r in pve.requests[requests:] if r[0] != "GET"] == [], "a plan wrote"
    return str(failure.value)


def _at(lab: Lab, text: str, occurrence: int = 1) -> str:
    """``stack.yaml:LINE:COLUMN`` of the ``occurrence``-th ``text`` in the stack file."""
    lines = (lab.root / "stack.yaml").read_text(encoding="utf-8").splitlines()
    found = [(n, line.index(text)) for n, line in enumerate(lines, 1) if text in line]
    line, column = found[occurrence - 1]
    return f"stack.yaml:{line}:{column + 1}"


# -- VMIDs --------------------------------------------------------------------------------


@pytest.mark.simulator_only("reads fakepve's request log (what the provider sent)")
def test_two_guests_with_one_fixed_vmid(lab: Lab, pve: TestPve) -> None:
    body = _stack(_guest("a", "vmid: 3000"), _guest("b", "vmid: 3000"))
    message = _refusal(lab, pve, body)
    assert f"{_at(lab, '3000', 2)}: guests.b: options.vmid 3000 is also guests.a's\n" \
           f"{VMID_HINT}" in message, message


@pytest.mark.simulator_only("reads fakepve's request log (what the provider sent)")
def test_a_counted_guest_with_a_fixed_vmid(lab: Lab, pve: TestPve) -> None:
    message = _refusal(lab, pve, _stack(_guest("web", "vmid: 3000", count="\n    count: 2")))
    assert f"{_at(lab, '3000')}: guests.web-1: options.vmid 3000 is also guests.web-0's\n" \
           "  hint: every instance of a counted guest gets this VMID: leave options.vmid " \
           "out to have one allocated to each" in message, message


@pytest.mark.simulator_only(
    "adds a VM or container with VMID 3000 to the fake cluster, outside the stack")
@pytest.mark.parametrize(("holder", "expected"), [
    ("untagged VM", "VM 'legacy' (untagged, VMID 3000 on pve2)"),
    ("another stack's VM", "VM 'legacy' (stack other, VMID 3000 on pve2)"),
    ("container", "container 'legacy' (untagged, VMID 3000 on pve2)"),
])
def test_a_fixed_vmid_the_cluster_already_gives_out(holder: str, expected: str, lab: Lab,
                                                    pve: TestPve) -> None:
    config = {"memory": 256, "tags": "provisioner.other"} if "stack" in holder \
        else {"memory": 256}
    if holder == "container":
        pve.add_ct(3000, "legacy", node="pve2", config={"hostname": "legacy", "memory": 256})
    else:
        pve.add_vm(3000, "legacy", node="pve2", config=config)
    message = _refusal(lab, pve, _stack(_guest("a", "vmid: 3000")))
    assert f"{_at(lab, '3000')}: guests.a: options.vmid 3000 is already used by {expected}\n" \
           f"{VMID_HINT}" in message, message


@pytest.mark.simulator_only("names the fake's template VMID 9000 and reads fakepve's request log")
def test_a_fixed_vmid_of_a_template(lab: Lab, pve: TestPve) -> None:
    message = _refusal(lab, pve, _stack(_guest("a", "vmid: 9000")))
    assert "guests.a: options.vmid 9000 is already used by template 'debian-12' (untagged, " \
           "VMID 9000 on pve1)" in message, message


@pytest.mark.simulator_only("reads fakepve's request log (what the provider sent)")
def test_a_guests_own_vmid_is_no_clash(lab: Lab, pve: TestPve) -> None:
    _, result = lab.apply(_stack(_guest("a", "vmid: 3000")))
    assert result.ok, failures(result)
    assert guest(pve, "a").vmid == 3000
    assert not lab.plan(_stack(_guest("a", "vmid: 3000"))).has_changes
    # another guest of the stack asking for it is refused, naming the guest that has it
    message = _refusal(lab, pve, _stack(_guest("a", "vmid: 3000"), _guest("b", "vmid: 3000")))
    assert "guests.b: options.vmid 3000 is also guests.a's" in message, message
    message = _refusal(lab, pve, _stack(_guest("b", "vmid: 3000")))
    assert "guests.b: options.vmid 3000 is already used by VM 'a' (guests.a of this stack, " \
           "VMID 3000 on pve1)" in message, message


@pytest.mark.simulator_only("reads fakepve's request log (what the provider sent)")
def test_a_fixed_vmid_with_create_before_destroy(lab: Lab, pve: TestPve) -> None:
    """The replacement would be made while the old guest still has the VMID: the apply
    failed with "VMID 3000 is taken" after a plan that promised it."""
    body = _stack(_guest("a", "vmid: 3000")).replace(
        "    provider: pve\n",
        "    provider: pve\n    lifecycle: { create_before_destroy: true }\n")
    message = _refusal(lab, pve, body)
    assert f"{_at(lab, '3000')}: guests.a: options.vmid 3000 would be the old and the new " \
           "guest's at once (lifecycle.create_before_destroy)\n  hint: leave options.vmid " \
           "out, or drop create_before_destroy" in message, message


@pytest.mark.simulator_only("adds a VM with VMID 3000 to the fake cluster, outside the stack")
def test_a_located_problem_stays_with_its_guest_under_target(lab: Lab, pve: TestPve) -> None:
    pve.add_vm(3000, "legacy", node="pve2", config={"memory": 256})
    body = _stack(_guest("a"), _guest("b", "vmid: 3000"))
    plan = lab.plan(body, PlanOptions(targets=frozenset({Address.parse("guests.a")})))
    assert [str(change.address) for change in plan.changes] == ["guests.a"]
    assert "guests.b: options.vmid 3000" in _refusal(lab, pve, body)


def test_the_allocator_never_hands_out_a_vmid_the_stack_fixes(lab: Lab, pve: TestPve) -> None:
    # b has no fixed VMID and is created first (a depends on it): the lowest free id of
    # the range is the one a fixes
    body = _stack(_guest("b"), _guest("a", "vmid: 3000").rstrip() +
                  "\n    depends_on: [guests.b]\n")
    _, result = lab.apply(body, vmid_range="3000-3009")
    assert result.ok, failures(result)
    assert (guest(pve, "a").vmid, guest(pve, "b").vmid) == (3000, 3001)


# -- MACs ---------------------------------------------------------------------------------


@pytest.mark.simulator_only("adds a guest holding the MAC to the fake cluster, outside the stack")
@pytest.mark.parametrize(("holder", "expected"), [
    ("untagged VM", "VM 'legacy' (untagged, VMID 120 on pve2)"),
    ("another stack's container", "container 'legacy' (stack other, VMID 120 on pve2)"),
])
def test_a_fixed_mac_a_guest_outside_the_stack_has(holder: str, expected: str, lab: Lab,
                                                   pve: TestPve) -> None:
    if "container" in holder:
        pve.add_ct(120, "legacy", node="pve2", config={
            "hostname": "legacy", "memory": 256, "tags": "provisioner.other",
            "net0": f"name=eth0,bridge=vmbr0,hwaddr={MAC.upper()},ip=dhcp"})
    else:
        pve.add_vm(120, "legacy", node="pve2", config={
            "memory": 256, "net0": f"virtio={MAC.upper()},bridge=vmbr0"})
    body = _stack(_guest("web", nic=f', mac: "{MAC}"'))
    message = _refusal(lab, pve, body)
    quoted = f'"{MAC}"'
    assert f"{_at(lab, quoted)}: guests.web: networks[0].mac {MAC} is already used by " \
           f"{expected}\n{MAC_HINT}" in message, message


def test_a_guests_own_mac_is_no_clash(lab: Lab, pve: TestPve) -> None:
    body = _stack(_guest("web", nic=f', mac: "{MAC}"'))
    _, result = lab.apply(body)
    assert result.ok, failures(result)
    assert MAC.upper() in guest(pve, "web").config["net0"]
    assert not lab.plan(body).has_changes
