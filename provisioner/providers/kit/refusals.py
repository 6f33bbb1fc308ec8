"""What a provider refuses at a guest's fields before any call: the fields it does not
serve (tables of field → why), and sizes that are not whole MiB where the hypervisor
counts in MiB (VirtualBox, Parallels). Pure.

A provider's ``checks.py`` builds its refusals with ``GuestRefusals`` and adds what
is its own (its network forms, its device limits); the same list serves the plan
(every problem) and ``create`` (the first, as an error).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from provisioner.core.problems import Problem
from provisioner.core.resources import Resource
from provisioner.core.specs import GuestSpec
from provisioner.errors import ProviderError

MIB = 1024 * 1024


@dataclass
class GuestRefusals:
    """The problems found in one guest by ``provider`` (its type, for the messages)."""

    resource: Resource
    provider: str
    found: list[Problem] = field(default_factory=list)

    def refuse(self, path: str, summary: str, hint: str = "") -> None:
        self.found.append(Problem(summary, self.resource.address, path, hint=hint))

    def unserved(self, guest: GuestSpec, fields: Mapping[str, tuple[str, str]],
                 disk_fields: Mapping[str, str],
                 nic_fields: Mapping[str, str] | None = None) -> None:
        """The guest's, its disks' and its NICs' fields this provider does not serve:
        ``fields`` maps a guest field to (why, hint), ``disk_fields`` and ``nic_fields``
        a disk's or a NIC's field to the hint."""
        for key, (why, hint) in fields.items():
            if getattr(guest, key):
                self.refuse(key, why, hint)
        unsupported = f"is not supported by the {self.provider} provider"
        for index, disk in enumerate(guest.disks):
            for key, why in disk_fields.items():
                if getattr(disk, key) is not None:
                    self.refuse(f"disks[{index}].{key}", unsupported, why)
        for index, nic in enumerate(guest.networks):
            for key, why in (nic_fields or {}).items():
                if getattr(nic, key) not in (None, ()):
                    self.refuse(f"networks[{index}].{key}", unsupported, why)

    def unread_addresses(self, source: str) -> None:
        """``wait_for`` is refused: the provider does not read guest addresses yet
        (``source``: where they would come from, e.g. "its Guest Additions")."""
        if self.resource.settings.get("wait_for"):
            self.refuse("wait_for", f"is not supported by the {self.provider} provider yet (a "
                        f"guest's address comes from {source}, not read yet)", "drop wait_for")

    def whole_mib(self, guest: GuestSpec, hypervisor: str) -> None:
        """Memory and disk sizes in whole MiB."""
        if guest.memory % MIB:
            self.refuse("memory", f"{hypervisor} gives memory in whole MiB", "round it to MiB")
        for index, disk in enumerate(guest.disks):
            if disk.size is not None and disk.size % MIB:
                self.refuse(f"disks[{index}].size", f"{hypervisor} sizes disks in whole MiB",
                            "round it to MiB")


def refuse_create(problems: Sequence[Problem], what: str) -> None:
    """A create asked for what the plan would have refused: the first problem, as the
    error (nothing was made)."""
    if problems:
        first = problems[0]
        raise ProviderError(f"{what}: {first.path}: {first.summary}", hint=first.hint)
