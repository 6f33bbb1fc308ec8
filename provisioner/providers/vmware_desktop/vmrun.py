"""The VMware seam: every call the provider makes to the VMware host goes through here.

Three programs, run through the block's runner (this machine, or ``host:`` over
SSH) and counted as the caller says (``list`` for the bulk read, ``read`` for
one VM's, ``write`` for changes):

- ``vmrun -T PRODUCT COMMAND ...`` (power, ``list``, ``deleteVM``). vmrun prints
  its errors on stdout as ``Error: <text>`` (exit code 255); they are translated
  once, here: "The virtual machine cannot be found" is ObjectNotFoundError (a
  delete treats it as done), "is not powered on" is NotRunning (a stop treats it
  as done), anything else a ProviderError naming the guest and the command;
- the disk tool: ``vmware-vdiskmanager -c -s SIZE -a lsilogic -t 0 PATH`` (a
  growable single-file vmdk, monolithicSparse) and ``-x SIZE PATH`` to grow, or
  ``qemu-img create -f vmdk -o subformat=monolithicSparse`` (qemu-img cannot grow
  a vmdk: the plan refuses that, ``checks.py``);
- ``sh -c SCRIPT`` for what neither program does: reading VMX files and disk
  descriptors (``listing.py``), removing a VM's folder, the host's size.

The ``.vmx`` file itself is written with the runner's ``write_file``.
"""

from __future__ import annotations

from provisioner.errors import ObjectNotFoundError, ProviderError
from provisioner.providers.base import CallKind, ProviderStats
from provisioner.providers.kit.commands import Completed, Runner
from provisioner.providers.kit.commands.local import LocalRunner
from provisioner.providers.kit.commands.ssh import SshRunner
from provisioner.providers.vmware_desktop import VmwareDesktopConfig
from provisioner.providers.vmware_desktop.listing import parse_list

MIB = 1024 * 1024
NOT_FOUND = ("The virtual machine cannot be found",)
NOT_RUNNING = "is not powered on"


class NotRunning(ProviderError):
    """vmrun: "The virtual machine is not powered on"."""


def message_of(done: Completed) -> str:
    """What the program said went wrong: vmrun's ``Error:`` line, or its stderr."""
    for text in (done.stdout, done.stderr):
        for line in text.splitlines():
            if line.startswith("Error: "):
                return line[len("Error: "):].strip()
    return done.stderr.strip() or done.stdout.strip() or f"exit {done.code}"


def fault(done: Completed, program: str, what: str) -> ProviderError:
    message = message_of(done)
    text = f"{what}: {program}: {message}" if what else f"{program}: {message}"
    if any(marker in message for marker in NOT_FOUND):
        return ObjectNotFoundError(text)
    if NOT_RUNNING in message:
        return NotRunning(text)
    return ProviderError(text)


def is_qemu_img(program: str) -> bool:
    return program.replace("\\", "/").rsplit("/", 1)[-1].startswith("qemu-img")


class Vmrun:
    """Runs vmrun, the disk tool and the shell for one provider block."""

    def __init__(self, settings: VmwareDesktopConfig, stats: ProviderStats,
                 runner: Runner | None = None) -> None:
        self.settings = settings
        self.runner = runner or (SshRunner(stats, settings.timeout, settings.host)
                                 if settings.host else LocalRunner(stats, settings.timeout))

    def vmrun(self, command: str, *args: str, what: str = "",
              kind: CallKind = CallKind.WRITE, timeout: float | None = None) -> str:
        """stdout of ``vmrun -T PRODUCT COMMAND ARGS``; raises the translated error."""
        argv = [self.settings.vmrun, "-T", self.settings.product, command, *args]
        done = self.runner.run(argv, kind=kind, timeout=timeout)
        if not done.ok or done.stdout.startswith("Error: "):
            raise fault(done, f"vmrun {command}", what)
        return done.stdout

    def running(self) -> list[str]:
        """``vmrun list``: the .vmx paths of the running VMs (a LIST call)."""
        return parse_list(self.vmrun("list", kind=CallKind.LIST))

    @property
    def qemu_img(self) -> bool:
        return is_qemu_img(self.settings.disk_tool)

    def create_disk(self, path: str, size: int, what: str) -> None:
        """A new, empty, growable single-file vmdk of ``size`` bytes (whole MiB)."""
        tool = self.settings.disk_tool
        if self.qemu_img:
            argv = [tool, "create", "-q", "-f", "vmdk", "-o",
                    "subformat=monolithicSparse,adapter_type=lsilogic", path, f"{size // MIB}M"]
        else:
            argv = [tool, "-c", "-s", f"{size // MIB}MB", "-a", "lsilogic", "-t", "0", path]
        self._disk_tool(argv, what)

    def grow_disk(self, path: str, size: int, what: str) -> None:
        """Grow a vmdk to ``size`` bytes (vmware-vdiskmanager only; the VM must be off)."""
        self._disk_tool([self.settings.disk_tool, "-x", f"{size // MIB}MB", path], what)

    def _disk_tool(self, argv: list[str], what: str) -> None:
        done = self.runner.run(argv, kind=CallKind.WRITE)
        if not done.ok:
            raise fault(done, argv[0].rsplit("/", 1)[-1], what)

    def shell(self, script: str, *args: str, kind: CallKind = CallKind.READ) -> Completed:
        """``sh -c SCRIPT sh ARGS`` on the host: the arguments stay out of the script."""
        return self.runner.run(["sh", "-c", script, "sh", *args], kind=kind)

    def remove_folder(self, folder: str, what: str) -> None:
        """``rm -rf`` a VM's folder (gone already is fine)."""
        done = self.shell('rm -rf -- "$1"', folder, kind=CallKind.WRITE)
        if not done.ok:
            raise ProviderError(f"{what}: cannot remove {folder}: {done.stderr.strip()}")

    def write_file(self, path: str, data: bytes) -> None:
        self.runner.write_file(path, data)

    def close(self) -> None:
        self.runner.close()
