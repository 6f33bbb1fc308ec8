"""Starting and stopping VMs, each as a XAPI task.

A start goes to the guest's ``node:`` when it has one (``VM.start_on``), else
XAPI picks a host (``VM.start``, which honours the VM's affinity). A stop is
a clean shutdown (the guest's ACPI or PV drivers) that becomes a hard
shutdown after ``shutdown_timeout`` seconds or when the guest cannot shut
itself down; a paused or suspended VM is hard-shut down or resumed first.
"""

from __future__ import annotations

import contextlib

from provisioner.errors import ProviderError
from provisioner.providers.xenserver import XenServerConfig
from provisioner.providers.xenserver.client import XapiClient


class Power:
    """Power changes of one pool's VMs."""

    def __init__(self, client: XapiClient, settings: XenServerConfig) -> None:
        self.client = client
        self.settings = settings

    def state(self, ref: str, what: str) -> str:
        return str(self.client.call("VM.get_power_state", ref, what=what))

    def start(self, ref: str, host: str | None, what: str) -> None:
        """Start a halted VM (on ``host`` when given: a reference); resume a suspended
        one, unpause a paused one; a running one is left as it is."""
        state = self.state(ref, what)
        if state == "Running":
            return
        if state == "Paused":
            self.client.call("VM.unpause", ref, what=what)
        elif state == "Suspended":
            self.client.task("VM.resume", ref, False, False, what=what)
        elif host is not None:
            self.client.task("VM.start_on", ref, host, False, False, what=what)
        else:
            self.client.task("VM.start", ref, False, False, what=what)

    def stop(self, ref: str, what: str, *, clean: bool = True) -> None:
        """Shut a VM down (halted is success): cleanly first when ``clean``, then hard."""
        state = self.state(ref, what)
        if state == "Halted":
            return
        if clean and state == "Running" and self.settings.shutdown_timeout > 0:
            with contextlib.suppress(ProviderError):
                self.client.task("VM.clean_shutdown", ref, what=what,
                                 timeout=self.settings.shutdown_timeout)
                return
            if self.state(ref, what) == "Halted":  # it went down as the wait ended
                return
        self.client.task("VM.hard_shutdown", ref, what=what)
