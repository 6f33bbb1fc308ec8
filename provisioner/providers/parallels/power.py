"""Starting and stopping VMs.

A start is ``prlctl start VM`` (a suspended VM resumes from its state; a paused
one is resumed with ``prlctl resume``). A stop is ``prlctl stop VM``, which asks
the guest to shut down and waits for it: given ``shutdown_timeout`` seconds
(the command is ended then), or when the guest refuses, the VM is stopped with
``prlctl stop VM --kill``. prlctl refuses to stop a paused VM: it is resumed
first.
"""

from __future__ import annotations

from provisioner.errors import ProviderError
from provisioner.providers.parallels import ParallelsConfig
from provisioner.providers.parallels.inventory import Lister
from provisioner.providers.parallels.prlctl import Prlctl

OFF = ("stopped",)


class Power:
    def __init__(self, prl: Prlctl, settings: ParallelsConfig, lister: Lister) -> None:
        self.prl = prl
        self.settings = settings
        self.lister = lister

    def state(self, name: str, what: str) -> str:
        return self.lister.vm(name, what).state

    def start(self, name: str, what: str, state: str | None = None) -> None:
        state = state or self.state(name, what)
        if state == "running":
            return
        if state == "paused":
            self.prl.run("resume", name, what=what)
            return
        self.prl.run("start", name, what=what)

    def stop(self, name: str, what: str, *, clean: bool = True,
             state: str | None = None) -> None:
        """Stop the VM (stopped already is success): a clean shutdown first when
        ``clean``, then ``--kill``."""
        state = state or self.state(name, what)
        if state in OFF:
            return
        if state == "paused":
            self.prl.run("resume", name, what=what)
        if clean and state != "suspended" and self.settings.shutdown_timeout > 0:
            try:
                self.prl.run("stop", name, what=what, retry=False,
                             timeout=self.settings.shutdown_timeout)
                return
            except ProviderError:
                pass  # it ignored the request, or took too long: killed below
        try:
            self.prl.run("stop", name, "--kill", what=what)
        except ProviderError:
            if self.state(name, what) not in OFF:
                raise  # it went off by itself meanwhile: done
