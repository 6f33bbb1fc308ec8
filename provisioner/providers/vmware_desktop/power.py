"""Starting and stopping VMs with vmrun.

A start is ``vmrun start VMX nogui`` (a suspended VM resumes). A stop is
``vmrun stop VMX soft`` (the guest shuts down through VMware Tools; vmrun waits),
given ``shutdown_timeout`` seconds; when it fails (no Tools in the guest) or
runs out of time, ``vmrun stop VMX hard`` pulls the plug. "not powered on" is
success: the VM is off.
"""

from __future__ import annotations

from provisioner.errors import ProviderError
from provisioner.providers.vmware_desktop.vmrun import NotRunning, Vmrun


class Power:
    def __init__(self, vmrun: Vmrun) -> None:
        self.vmrun = vmrun

    def running(self, vmx: str) -> bool:
        return vmx in self.vmrun.running()

    def start(self, vmx: str, what: str) -> None:
        if not self.running(vmx):
            self.vmrun.vmrun("start", vmx, "nogui", what=what)

    def stop(self, vmx: str, what: str, *, clean: bool = True) -> None:
        """Power the VM off (off already is success): soft first when ``clean``."""
        timeout = self.vmrun.settings.shutdown_timeout
        try:
            if clean and timeout > 0:
                try:
                    self.vmrun.vmrun("stop", vmx, "soft", what=what, timeout=timeout)
                    return
                except NotRunning:
                    raise
                except ProviderError:
                    pass  # no VMware Tools, or no shutdown in time: the plug
            self.vmrun.vmrun("stop", vmx, "hard", what=what)
        except NotRunning:
            return
