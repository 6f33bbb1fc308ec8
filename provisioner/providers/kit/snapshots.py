"""The refusals every provider's snapshot calls share, worded once: a name the guest
already has, a name it does not have. What a hypervisor refuses for its own
reasons (a storage that cannot snapshot) stays with that provider."""

from __future__ import annotations

from provisioner.errors import ProviderError

DESCRIPTION = "taken by provisioner"
"""The description written on each snapshot taken, where the hypervisor keeps one."""


def name_in_use(what: str, name: str) -> ProviderError:
    """``what`` already has snapshot ``name``: nothing was taken."""
    return ProviderError(f"{what}: snapshot {name} exists already",
                         hint=f"pick another name, or delete it first: provisioner snapshot "
                              f"delete {name}")


def no_such_snapshot(what: str, name: str) -> ProviderError:
    """``what`` has no snapshot ``name``: nothing was reverted."""
    return ProviderError(f"{what}: no snapshot named {name}",
                         hint="see them with: provisioner snapshot list")
