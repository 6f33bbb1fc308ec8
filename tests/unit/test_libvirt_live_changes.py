"""Which vCPU and memory changes the libvirt provider plans live on a running
guest: what the plan promises is what libvirt can carry out without the guest's
help, else a restart."""

from __future__ import annotations

from typing import Any

import pytest

from provisioner.core.address import Address, Kind
from provisioner.core.resources import Effect, LiveObject
from provisioner.providers.libvirt.schema import GUEST_SCHEMA

MiB = 1024 * 1024


def _guest(cpus: int, memory: int, *, running: bool = True) -> LiveObject:
    return LiveObject(Address(Kind.GUEST, "web"), "kvm", "web", "web",
                      {"cpus": cpus, "memory": memory}, running=running,
                      attributes={"max_cpus": 4, "max_memory": 1024 * MiB})


def _effect(path: str, live: LiveObject, after: Any) -> Effect | None:
    assert GUEST_SCHEMA.refine is not None
    return GUEST_SCHEMA.refine(path, live.spec[path], after, live)


@pytest.mark.parametrize(("path", "after"), [("cpus", 3), ("memory", 768 * MiB),
                                             ("memory", 256 * MiB)])
def test_within_the_maximum_vcpus_grow_and_memory_changes_live(path: str, after: int) -> None:
    assert _effect(path, _guest(2, 512 * MiB), after) is Effect.IN_PLACE


def test_fewer_vcpus_need_a_restart_even_within_the_maximum() -> None:
    # A vCPU is unplugged only if the guest releases it; the tiny guest does not,
    # and libvirt then fails with "An error occurred, but the cause is unknown".
    assert _effect("cpus", _guest(3, 512 * MiB), 2) is None


@pytest.mark.parametrize(("path", "after"), [("cpus", 5), ("memory", 2048 * MiB)])
def test_past_the_maximum_needs_a_restart(path: str, after: int) -> None:
    assert _effect(path, _guest(2, 512 * MiB), after) is None


def test_a_stopped_guest_is_changed_in_its_definition() -> None:
    assert _effect("cpus", _guest(2, 512 * MiB, running=False), 3) is None
