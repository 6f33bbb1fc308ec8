"""Starting and stopping VMs.

A start is ``Start-VM`` (a paused VM is resumed with ``Resume-VM``). A stop asks the
guest to shut down (``Stop-VM -Force``: through its Shutdown integration service;
the cmdlet returns once the VM is off) for up to ``shutdown_timeout`` seconds; then,
or when the guest has no such service (the cmdlet fails), it pulls the plug
(``Stop-VM -TurnOff -Force``). A saved VM's state is discarded
(``Remove-VMSavedState``) by any stop. Hyper-V only warns ("already in the
specified state") when a VM is started or stopped twice: the state is read first.
"""

from __future__ import annotations

from provisioner.errors import ProviderError
from provisioner.providers.hyperv import HyperVConfig
from provisioner.providers.hyperv.inventory import Lister
from provisioner.providers.hyperv.powershell import PowerShell
from provisioner.providers.hyperv.script import SWITCH, Script

OFF = ("Off",)


def start_into(script: Script, vm_id: str, state: str) -> Script:
    """The line that starts a VM in ``state`` (none when it runs), added to ``script``:
    a start rides along with the change before it, one script fewer."""
    if state not in ("Running", "Starting"):
        script.call("Resume-VM" if state == "Paused" else "Start-VM", vm=vm_id)
    return script


class Power:
    def __init__(self, ps: PowerShell, settings: HyperVConfig, lister: Lister) -> None:
        self.ps = ps
        self.settings = settings
        self.lister = lister

    def state(self, vm_id: str, what: str) -> str:
        return self.lister.vm(vm_id, what).state

    def start(self, vm_id: str, what: str, state: str | None = None) -> None:
        """Start the VM (running already is success); ``state``: as just read, if known."""
        script = start_into(Script(), vm_id, state or self.state(vm_id, what))
        if script:
            self.ps.run(script, what=what)

    def stop(self, vm_id: str, what: str, *, clean: bool = True,
             state: str | None = None) -> None:
        """Power the VM off (off already is success): a shutdown first when ``clean``;
        ``state``: as just read, if known."""
        state = state or self.state(vm_id, what)
        if state in OFF:
            return
        if state == "Saved":
            self.ps.run(Script().call("Remove-VMSavedState", vm=vm_id), what=what)
            return
        if clean and state == "Running" and self.settings.shutdown_timeout > 0:
            try:
                self.ps.run(Script().call("Stop-VM", vm=vm_id, Force=SWITCH), what=what,
                            timeout=self.settings.shutdown_timeout)
                return
            except ProviderError:
                pass  # no shutdown service, or out of time: the plug
        self.ps.run(Script().call("Stop-VM", vm=vm_id, TurnOff=SWITCH, Force=SWITCH),
                    what=what)
