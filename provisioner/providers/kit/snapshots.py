"""The refusals every provider's snapshot calls share, worded once: a name the guest
already has, a name it does not have, the hypervisor's own refusal. Hints for what
a hypervisor refuses for its own reasons (a storage that cannot snapshot) stay with
that provider."""

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


def refused(doing: str, exc: ProviderError, what: str, name: str, hypervisor: str,
            hint: str = "") -> ProviderError:
    """``hypervisor``'s refusal to ``doing`` (take, revert to, delete) snapshot ``name`` of
    ``what``: its words after the guest's; ``hint``, else its own if it gave one."""
    message = exc.message.removeprefix(f"{what}: ")
    return ProviderError(f"{what}: cannot {doing} snapshot {name}: {message}",
                         hint=hint or exc.hint or f"{hypervisor} refused; its message says "
                                                  "why")


BUSY_HINT = ("another task (a backup, a migration, a snapshot) holds the guest; run the "
             "command again when it has finished, or raise retry_timeout")
"""What to do when a guest stayed locked by another task past ``retry_timeout``."""
