"""Bad input against the real daemon: each is refused at plan time with a
PlanError that says what is wrong and what exists, and nothing is created."""

from __future__ import annotations

import re
import subprocess
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from support.e2e import E2EStack, TinyGuest, stack_objects

from provisioner.errors import PlanError

MiB = 1024 * 1024
GUEST = """
guests:
  {name}:
    provider: kvm
    memory: {memory}
    {extra}
    options: {{ BOOT_OPTIONS }}
"""


def _refused(stack: E2EStack, conn: Any, *patterns: str) -> str:
    """Plan, expect a PlanError matching every pattern; then check nothing was made."""
    with pytest.raises(PlanError) as caught:
        stack.plan()
    message = str(caught.value)
    for pattern in patterns:
        assert re.search(pattern, message), f"{pattern!r} not in:\n{message}"
    assert stack_objects(conn, stack.name) == []
    return message


def test_a_missing_base_image_names_the_pool_and_lists_its_volumes(
        new_stack: Callable[..., E2EStack], conn: Any) -> None:
    stack = new_stack()
    stack.write(GUEST.format(name="bad-image", memory="128MiB", extra="image: nope"))
    volumes = conn.storagePoolLookupByName("default").listVolumes()
    images = sorted(v for v in volumes if "__" not in v)  # other stacks' volumes are not listed
    _refused(stack, conn, r"guests\.bad-image: image 'nope' is not in pool 'default'",
             re.escape(f"(volumes there: {', '.join(images) or 'none'})"))


def test_an_unknown_pool_is_named_with_the_pools_that_exist(
        new_stack: Callable[..., E2EStack], conn: Any) -> None:
    stack = new_stack()
    stack.write(GUEST.format(name="bad-pool", memory="128MiB",
                             extra="disks: [ { size: 64MiB, pool: e2e-no-such-pool } ]"))
    _refused(stack, conn, r"guests\.bad-pool: disks\[0\]\.pool 'e2e-no-such-pool' does not exist",
             r"\(pools: [^)]*\bdefault\b")


def test_more_memory_than_the_host_has_free_does_not_fit(
        new_stack: Callable[..., E2EStack], conn: Any) -> None:
    stack = new_stack()
    stack.write(GUEST.format(name="bad-memory", memory="128MiB", extra=""))
    with stack.engine() as engine:
        free = engine.providers()["kvm"].capacity().hosts[0].memory_free
    asked = (free // MiB + 1024) * MiB
    stack.write(GUEST.format(name="bad-memory", memory=f"{asked // MiB}MiB", extra=""))
    _refused(stack, conn, "does not fit", r"guests\.bad-memory|memory")


@pytest.fixture
def untagged_domain(conn: Any, tiny_guest: TinyGuest) -> Iterator[str]:
    """A domain no stack owns (defined with libvirt directly, not started)."""
    name = "e2e-untagged"
    with_name = [d for d in conn.listAllDomains() if d.name() == name]
    for domain in with_name:  # an interrupted earlier run
        domain.undefine()
    domain = conn.defineXML(
        f"<domain type='qemu'><name>{name}</name><memory unit='MiB'>128</memory>"
        f"<os><type arch='x86_64'>hvm</type><kernel>{tiny_guest.kernel}</kernel></os>"
        "</domain>")
    try:
        yield name
    finally:
        domain.undefine()


def test_a_name_taken_by_an_untagged_domain_suggests_import(
        new_stack: Callable[..., E2EStack], conn: Any, untagged_domain: str) -> None:
    stack = new_stack()
    before = conn.lookupByName(untagged_domain).XMLDesc(0)
    stack.write(GUEST.format(name=untagged_domain, memory="128MiB", extra=""))
    _refused(stack, conn, rf"guests\.{untagged_domain}: a guest named '{untagged_domain}' "
             r"already exists .*\(untagged\)",
             rf"provisioner import guests\.{untagged_domain} {untagged_domain}")
    assert conn.lookupByName(untagged_domain).XMLDesc(0) == before, "the domain was changed"


def test_a_missing_host_bridge_is_named_with_the_interfaces_that_exist(
        new_stack: Callable[..., E2EStack], conn: Any) -> None:
    stack = new_stack()
    stack.write(GUEST.format(name="bad-bridge", memory="128MiB",
                             extra="networks: [ { bridge: br-e2e-nope } ]"))
    _refused(stack, conn,
             r"guests\.bad-bridge: networks\[0\]\.bridge 'br-e2e-nope' does not exist on the host",
             r"\(interfaces: ")
    result = stack.cli("plan")
    assert result.returncode == 1, result.stdout + result.stderr
    assert "br-e2e-nope" in result.stderr + result.stdout
    assert "Traceback" not in result.stderr


def test_plan_errors_leave_no_stack_behind(new_stack: Callable[..., E2EStack],
                                           conn: Any) -> None:
    """The refused plans above did not even write state: apply through the CLI
    refuses too, with exit code 1, and nothing is created."""
    stack = new_stack()
    stack.write(GUEST.format(name="bad-cli", memory="128MiB", extra="image: nope"))
    result = stack.cli("apply", "--auto-approve")
    assert result.returncode == 1, result.stdout + result.stderr
    assert "image 'nope' is not in pool" in result.stdout + result.stderr
    assert stack_objects(conn, stack.name) == []
    assert subprocess.run(["virsh", "-c", stack.uri, "dominfo", "bad-cli"], capture_output=True,
                          check=False).returncode != 0


def test_a_machine_type_the_host_does_not_offer_is_refused(
        new_stack: Callable[..., E2EStack], conn: Any) -> None:
    # checked against libvirt's capabilities (the test driver lists none: there the
    # stack-wide pattern check is all); pc-q35-7.2 and q35 are offered by Debian's QEMU
    stack = new_stack()
    stack.write(GUEST.format(name="bad-machine", memory="128MiB", extra="").replace(
        "BOOT_OPTIONS", "machine: pc-q99, BOOT_OPTIONS"))
    _refused(stack, conn, r"guests\.bad-machine: options\.machine 'pc-q99' is not a machine "
             r"type of this host", r"hint: such as ")
