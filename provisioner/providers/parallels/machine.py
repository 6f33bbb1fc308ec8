"""A VM's settings, disks, NICs and seed CD, written with ``prlctl set``.

prlctl changes one device per ``set``: ``--device-add hdd --size MB`` makes a
new expanding disk image in the VM's bundle, ``--device-set hddN --size MB``
grows one, ``--device-del hddN --destroy-image`` removes one with its image.
Disk N of the spec is the VM's Nth ``hdd`` device in index order, NIC N its
``netN``. The cloud-init seed is a NoCloud ISO (``kit/nocloud``) written into
the bundle (so ``prlctl delete`` takes it with the VM) and attached as a CD
drive (``--device-add cdrom --image``).
"""

from __future__ import annotations

from collections.abc import Sequence

from provisioner.core.specs import CloudInitSpec, DiskSpec, GuestSpec, NicSpec
from provisioner.providers.kit.nocloud import seed_iso
from provisioner.providers.parallels.listing import MIB, VmInfo
from provisioner.providers.parallels.nics import attachment, nic_args, type_args
from provisioner.providers.parallels.prlctl import Prlctl
from provisioner.providers.parallels.read import SEED_FILE, bundle_of


def mib(size: int) -> str:
    """Bytes → whole MiB, rounded up (prlctl sizes are MB, meaning MiB)."""
    return str(-(-size // MIB))


def settings_args(guest: GuestSpec) -> list[str]:
    return ["--cpus", str(guest.cpus), "--memsize", mib(guest.memory),
            "--autostart", "on" if guest.autostart else "off"]


class Machine:
    """The writes to one VM (``name``); ``what`` names it in errors."""

    def __init__(self, prl: Prlctl, name: str, what: str) -> None:
        self.prl = prl
        self.name = name
        self.what = what

    def set(self, *args: str, what: str = "") -> None:
        if args:
            self.prl.run("set", self.name, *args, what=what or self.what)

    # -- disks ---------------------------------------------------------------------------

    def add_disk(self, index: int, disk: DiskSpec) -> None:
        self.set("--device-add", "hdd", "--size", mib(disk.size or MIB),
                 what=f"{self.what} disks[{index}]")

    def match_disks(self, vm: VmInfo, disks: Sequence[DiskSpec]) -> None:
        """Grow, add and remove disks so the (stopped) VM has ``disks``."""
        for index, disk in enumerate(disks):
            if index >= len(vm.disks):
                self.add_disk(index, disk)
            elif disk.size is not None and disk.size > vm.disks[index].size:
                self.set("--device-set", f"hdd{vm.disks[index].index}", "--size",
                         mib(disk.size), what=f"{self.what} disks[{index}]")
        for extra in vm.disks[len(disks):]:
            self.set("--device-del", f"hdd{extra.index}", "--destroy-image")

    # -- NICs ----------------------------------------------------------------------------

    def match_nics(self, vm: VmInfo, nics: Sequence[NicSpec], running: bool) -> None:
        """Make the VM's NICs ``nics``. On a running VM only a NIC's network changes
        (``--type``/``--iface``: the schema makes every other NIC change a restart)."""
        have = [nic.index for nic in vm.nics]
        for position, nic in enumerate(nics):
            if position < len(have):
                live = vm.nics[position]
                same = attachment(nic) == (live.type, live.iface or None)
                if same and (running or ((nic.mac or live.mac).lower() == live.mac and
                                         nic.model in (None, live.card))):
                    continue  # nothing of this NIC changes
                self.set("--device-set", f"net{have[position]}",
                         *(type_args(nic) if running else nic_args(nic)))
            else:
                self.set("--device-add", "net", *nic_args(nic))
        for index in have[len(nics):]:
            self.set("--device-del", f"net{index}")

    # -- cloud-init ----------------------------------------------------------------------

    def attach_seed(self, vm: VmInfo, cloud_init: CloudInitSpec) -> str:
        """Write the NoCloud ISO into the VM's bundle and attach it as a CD drive."""
        path = f"{bundle_of(vm)}/{SEED_FILE}"
        self.prl.write_file(path, seed_iso(self.name, cloud_init, self.what))
        self.set("--device-add", "cdrom", "--image", path)
        return path
