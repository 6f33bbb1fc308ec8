"""A real vCenter or ESXi host in place of the simulator (``PROVISIONER_TEST_VSPHERE``,
see tests/support/real_hosts.py and docs/testing.md).

``RealVsphere`` is a ``Simulator`` whose direct looks (``content``, ``vms``,
``vm``, ``all``, ``wait``) go to the real target with the variables' user,
password and CA, whose ``provider_block`` names the variables' datacenter,
cluster or host and datastore, and whose ``model`` is ``vpx`` for a vCenter and
``esx`` for a standalone host (``about.apiType``). What only the simulator has
(fault injection, seeding VMs, its datastores' files on this machine) raises:
the tests that use it are marked ``simulator_only``.

``names`` maps the names the tests' stacks use (the simulator's: port groups
``VM Network`` and ``DC0_DVPG0``, datastores ``LocalDS_0`` and ``LocalDS_1``,
template ``debian-12``) to the target's; ``vsphere_lab.Lab`` applies it.

``reset()`` is the leak check after each test: the VMs whose ownership tag names
a stack of this run (``NAME-tRUNID``) are what the test left; it powers them off,
destroys them and fails the test naming them.
"""

from __future__ import annotations

import os
import re
import ssl
from pathlib import Path
from typing import Any

import pytest

from support import real_hosts
from support.real_hosts import VsphereTarget
from support.vcsim import TEMPLATE, Simulator

PASSWORD_ENV = real_hosts.VSPHERE + "_PASSWORD"
SIMULATOR_NAMES = {"network": "VM Network", "network2": "DC0_DVPG0", "datastore": "LocalDS_0",
                   "datastore2": "LocalDS_1", "template": TEMPLATE}


class RealVsphere(Simulator):
    """A real target behind the simulator's interface (the looks only)."""

    real = True

    def __init__(self, target: VsphereTarget, workdir: Path) -> None:
        super().__init__(model="vpx", process=None, url=target.url,
                         cafile=Path(target.ca_file or ""), workdir=workdir)
        self.target = target
        self.model = "vpx" if self.content.about.apiType == "VirtualCenter" else "esx"

    @property
    def port(self) -> int:
        return self.target.port

    @property
    def datacenter(self) -> str:
        return self.target.datacenter

    @property
    def cluster(self) -> str | None:
        return self.target.cluster

    @property
    def hosts(self) -> tuple[str, ...]:
        from pyVmomi import vim

        computes = [c for c in self.all(vim.ComputeResource)
                    if c.name in (self.target.cluster, self.target.host)]
        return tuple(sorted(h.name for c in computes for h in c.host))

    @property
    def password(self) -> str:
        return self.target.password

    @property
    def names(self) -> dict[str, str]:
        """The simulator's names → the target's (a missing second datastore or port
        group maps to nothing: a stack using it skips)."""
        real = {"network": self.target.network, "datastore": self.target.datastore,
                "template": self.target.template,
                "network2": os.environ.get(real_hosts.VSPHERE + "_NETWORK2", ""),
                "datastore2": os.environ.get(real_hosts.VSPHERE + "_DATASTORE2", "")}
        return {SIMULATOR_NAMES[key]: value for key, value in real.items()}

    def stop(self) -> None:
        pass

    def provider_block(self, **settings: Any) -> dict[str, Any]:
        block: dict[str, Any] = {
            "type": "vsphere", "server": self.target.server, "port": self.port,
            "username": self.target.user, "password": f"${{env.{PASSWORD_ENV}}}",
            "datacenter": self.target.datacenter, "datastore": self.target.datastore,
            "timeout": 60, "task_timeout": 600, "retry_timeout": 30,
        }
        if self.target.ca_file:
            block["ca_file"] = self.target.ca_file
        if self.target.cluster:
            block["cluster"] = self.target.cluster
        if self.target.host:
            block["host"] = self.target.host
        block.update(settings)
        return block

    @property
    def content(self) -> Any:
        if self._content is None:
            from pyVim.connect import SmartStubAdapter
            from pyVmomi import vim

            context = ssl.create_default_context(cafile=self.target.ca_file)
            stub = SmartStubAdapter(host=self.target.server, port=self.port,
                                    sslContext=context)
            content = vim.ServiceInstance("ServiceInstance", stub).RetrieveContent()
            content.sessionManager.Login(self.target.user, self.target.password)
            self._content = content
        return self._content

    # -- what only the simulator has --------------------------------------------------

    def _simulator_only(self, what: str) -> Any:
        raise RuntimeError(f"{what} needs the simulator: mark the test simulator_only")

    def inject(self, **rule: Any) -> None:
        self._simulator_only("fault injection")

    def clear_faults(self) -> None:
        pass

    def seed(self) -> None:
        self._simulator_only("seeding")

    def make_vm(self, name: str, *, template: bool = False, folder: Any = None,
                annotation: str = "") -> Any:
        return self._simulator_only("making a VM outside the provider")

    def datastore_files(self) -> set[str]:
        return self._simulator_only("reading the datastores' files")  # type: ignore[no-any-return]

    # -- the leak check ---------------------------------------------------------------

    def owned(self) -> list[Any]:
        """The VMs whose ownership tag names a stack of this run."""
        run = re.compile(r'"stack":\s*"[^"]*-t' + re.escape(real_hosts.run_id()) + '"')
        found = []
        for vm in self.vms():
            try:
                values = [str(v.value) for v in vm.customValue or []]
                values.append(str(vm.config.annotation or "") if vm.config else "")
            except Exception:  # gone meanwhile
                continue
            if any(run.search(value) for value in values):
                found.append(vm)
        return found

    def reset(self) -> None:
        import subprocess

        for directory in self.__dict__.pop("tracked", []):  # what the console script made
            subprocess.run(["provisioner", "destroy", str(directory), "--auto-approve"],
                           capture_output=True, timeout=600, check=False,
                           stdin=subprocess.DEVNULL)
        left = self.owned()
        names = sorted(vm.name for vm in left)
        for vm in left:
            try:
                if vm.runtime.powerState != "poweredOff":
                    self.wait(vm.PowerOffVM_Task())
                self.wait(vm.Destroy_Task())
            except Exception:  # named below
                continue
        if names:
            still = sorted(vm.name for vm in self.owned())
            pytest.fail(f"the test left VMs on {self.target.server}: {', '.join(names)}; "
                        "destroyed them" + (f", but these remain: {', '.join(still)}"
                                            if still else ""), pytrace=False)
