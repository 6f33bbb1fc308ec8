"""Starting and stopping VMs.

A start is ``startvm VM --type headless`` (a saved VM resumes from its state, a
paused one is resumed with ``controlvm VM resume``). A stop presses the ACPI
power button (``controlvm VM acpipowerbutton``) and waits up to
``shutdown_timeout`` seconds for the guest to power itself off, asking
``showvminfo --machinereadable`` for ``VMState``; then, or when the guest
ignores the button, it pulls the plug (``controlvm VM poweroff``). A saved
state is discarded (``discardstate``) by a hard stop.
"""

from __future__ import annotations

import time

from provisioner.errors import ProviderError
from provisioner.providers.virtualbox import VirtualBoxConfig
from provisioner.providers.virtualbox.listing import machine_readable
from provisioner.providers.virtualbox.vboxmanage import VBoxManage

POLL_START = 0.1
POLL_MAX = 1.0


class Power:
    def __init__(self, vbox: VBoxManage, settings: VirtualBoxConfig) -> None:
        self.vbox = vbox
        self.settings = settings

    def state(self, name: str, what: str) -> str:
        info = machine_readable(self.vbox.read("showvminfo", name, "--machinereadable",
                                               what=what))
        return info.get("VMState", "poweroff")

    def start(self, name: str, what: str) -> None:
        state = self.state(name, what)
        if state == "running":
            return
        if state == "paused":
            self.vbox.run("controlvm", name, "resume", what=what)
            return
        self.vbox.run("startvm", name, "--type", "headless", what=what)

    def stop(self, name: str, what: str, *, clean: bool = True) -> None:
        """Power the VM off (off already is success): the ACPI button first when
        ``clean``, then the plug."""
        state = self.state(name, what)
        if state in ("poweroff", "aborted"):
            return
        if state == "saved":
            self.vbox.run("discardstate", name, what=what)
            return
        if clean and state == "running" and self.settings.shutdown_timeout > 0:
            self.vbox.run("controlvm", name, "acpipowerbutton", what=what)
            if self._went_off(name, what):
                return
        try:
            self.vbox.run("controlvm", name, "poweroff", what=what)
        except ProviderError:
            if self.state(name, what) not in ("poweroff", "aborted"):
                raise  # it went off by itself as the plug was pulled: done

    def _went_off(self, name: str, what: str) -> bool:
        deadline = time.monotonic() + self.settings.shutdown_timeout
        wait = POLL_START
        while True:
            if self.state(name, what) in ("poweroff", "aborted"):
                return True
            if time.monotonic() + wait > deadline:
                return False
            time.sleep(wait)
            wait = min(wait * 2, POLL_MAX)
