"""Power operations on one VM: start, hard stop, clean shutdown with a deadline.

A VM already in the state asked for is success (another client, or an earlier
attempt, got there first): the simulator and vCenter both answer that with
InvalidPowerState, which is checked against the state it reports. A clean
shutdown needs VMware Tools in the guest; without them, or after
``shutdown_timeout``, the VM is powered off.
"""

from __future__ import annotations

import time
from typing import Any

from pyVmomi import vim

from provisioner.errors import ProviderError
from provisioner.providers.base import CallKind
from provisioner.providers.vsphere import VsphereConfig
from provisioner.providers.vsphere.client import VsphereClient
from provisioner.providers.vsphere.faults import InvalidPowerStateError

POLL = 0.5


class Power:
    """Starts and stops VMs of one session."""

    def __init__(self, client: VsphereClient, settings: VsphereConfig) -> None:
        self.client = client
        self.settings = settings

    def vm(self, moid: str) -> Any:
        return self.client.ref(vim.VirtualMachine, moid)

    def state(self, moid: str, what: str) -> str:
        """poweredOn, poweredOff or suspended. Raises ObjectNotFoundError if it is gone."""
        vm = self.vm(moid)
        return str(self.client.call(CallKind.READ, what, lambda _s: vm.runtime.powerState))

    def start(self, moid: str, what: str) -> None:
        """Power on (or resume). Raises the translated fault (InsufficientResourcesFault
        when the cluster cannot admit it); already on is success."""
        vm = self.vm(moid)
        try:
            self.client.run_task(what, lambda _s: vm.PowerOnVM_Task())
        except InvalidPowerStateError as error:
            if error.existing != "poweredOn":
                raise

    def stop(self, moid: str, what: str) -> None:
        """Power off at once; already off is success."""
        vm = self.vm(moid)
        try:
            self.client.run_task(what, lambda _s: vm.PowerOffVM_Task())
        except InvalidPowerStateError as error:
            if error.existing != "poweredOff":
                raise

    def shut_down(self, moid: str, what: str, tools: str) -> None:
        """A clean shutdown through VMware Tools when they run, waiting up to
        ``shutdown_timeout``; then (or without tools) a power off."""
        if tools == "guestToolsRunning" and self.settings.shutdown_timeout > 0:
            vm = self.vm(moid)
            try:
                self.client.call(CallKind.WRITE, what, lambda _s: vm.ShutdownGuest())
            except InvalidPowerStateError:
                return
            except ProviderError:
                self.stop(moid, what)  # the tools stopped answering: no clean way left
                return
            deadline = time.monotonic() + self.settings.shutdown_timeout
            while time.monotonic() < deadline:
                if self.state(moid, what) == "poweredOff":
                    return
                time.sleep(POLL)
        self.stop(moid, what)

    def wait_for_ip(self, moid: str, what: str, timeout: float) -> str:
        """Poll until VMware Tools in the guest report an IPv4 address; ProviderError
        after ``timeout`` seconds (the guest exists and runs: the next plan sees it)."""
        vm = self.vm(moid)
        deadline = time.monotonic() + timeout
        while True:
            address = self.client.call(CallKind.READ, what, lambda _s: vm.guest.ipAddress)
            if address and ":" not in str(address):
                return str(address)
            if time.monotonic() >= deadline:
                raise ProviderError(
                    f"{what}: no IP address after {timeout:.0f}s (wait_for: ip)",
                    hint="the guest runs; VMware Tools (open-vm-tools) in it report the "
                         "address: check that they run and the guest's network, or raise "
                         "wait_timeout")
            time.sleep(POLL)
