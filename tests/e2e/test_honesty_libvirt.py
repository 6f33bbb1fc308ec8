"""The plan's word against what a real libvirtd and QEMU did (see tests/contract/honesty.py).

The contract suite runs the same edits on libvirt's in-process test driver; here
each one runs on running tiny guests of the real daemon, where disks grow through
QEMU, restarts are real ACPI shutdowns and starts, and libvirt rewrites the live
definition as QEMU really runs it.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from contract.honesty import Watch, check_every_edit
from contract.target_libvirt import LibvirtTarget, libvirt_raw_state, watch_domain
from contract.targets import ContractTarget, Hypervisor
from support.e2e import TinyGuest, booted, stack_name, stack_objects, sweep

from provisioner.apply.progress import CollectingProgress
from provisioner.core.address import Kind
from provisioner.engine import Engine
from provisioner.providers.libvirt.domain_xml import serial_log_path
from provisioner.stack.loader import load_stack
from provisioner.state.local import SQLiteStore


class DaemonTarget(LibvirtTarget):
    """The libvirt target's edits, on the real daemon: no test-driver gaps."""

    name = "libvirtd"
    honesty_gaps: dict[str, str] = {}

    def __init__(self, guest: TinyGuest, domain_type: str) -> None:
        self.guest = guest
        self.domain_type = domain_type

    def honest_base(self, kind: Kind) -> dict[str, Any]:
        if kind is not Kind.GUEST:
            return super().honest_base(kind)
        boot = {"kernel": str(self.guest.kernel), "initrd": str(self.guest.initrd),
                "cmdline": self.guest.cmdline}
        return self.small_guest(power="running", options=boot)


class DaemonHypervisor(Hypervisor):
    """qemu:///system, with a stack of this test's own."""

    def __init__(self, target: DaemonTarget, workdir: Path, uri: str, conn: Any,
                 stack: str) -> None:
        super().__init__(target, workdir)
        self.uri = uri
        self.conn = conn
        self.stack = stack
        self.domain_type = target.domain_type

    def provider_block(self) -> dict[str, Any]:
        return {"type": "libvirt", "uri": self.uri, "domain_type": self.domain_type,
                "capacity": {"cpu_overcommit": 32}}

    def define_untagged(self, kind: Kind, name: str) -> None:
        raise NotImplementedError("not needed: the honesty check makes its own objects")

    def volume_names(self) -> set[str]:
        return {f"{p.name()}/{v.name()}" for p in self.conn.listAllStoragePools()
                if p.isActive() for v in p.listAllVolumes()}

    def definitions(self) -> str:
        return "\n".join(d.XMLDesc(0) for d in self.conn.listAllDomains())

    def raw_state(self, kind: Kind, name: str) -> dict[str, str]:
        return libvirt_raw_state(self.conn, kind, name)

    @contextmanager
    def watch(self, kind: Kind, name: str) -> Iterator[Watch]:
        with watch_domain(name) as watch:
            yield watch

    def settle(self, kind: Kind, name: str) -> None:
        """Booted far enough that ACPI shutdown works (else a restart waits out the
        provider's timeout before its hard stop)."""
        if kind is Kind.GUEST:
            booted(Path(serial_log_path(name)))


def test_the_plan_says_what_libvirtd_does(
    libvirt_daemon: str, conn: Any, tiny_guest: TinyGuest, domain_type: str, tmp_path: Path,
    subtests: pytest.Subtests,
) -> None:
    target: ContractTarget = DaemonTarget(tiny_guest, domain_type)
    stack = stack_name("honesty")
    sweep(conn, stack)
    hypervisor = DaemonHypervisor(target, tmp_path, libvirt_daemon, conn, stack)
    provider = hypervisor.provider()
    try:
        check_every_edit(target, hypervisor, provider, tmp_path, subtests)
        # the last case's guest, deleted by a stack that declares nothing
        with Engine(load_stack(hypervisor.stack_file({})), SQLiteStore(tmp_path / "end.db"),
                    providers={"hv": provider}) as engine:
            assert engine.apply(engine.plan(), CollectingProgress()).ok
        assert stack_objects(conn, stack) == []
    finally:
        provider.close()
        sweep(conn, stack)
