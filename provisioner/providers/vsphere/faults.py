"""vSphere faults and transport failures, translated into the project's errors.

This is the only module that inspects pyVmomi's fault classes (as the libvirt
provider's ``client.py`` is for libvirtError codes). ``translate`` runs once,
at the edge, in ``client.py``; everything above it sees only
``provisioner.errors``:

- ManagedObjectNotFound              → ObjectNotFoundError (delete: already gone)
- NotAuthenticated                   → SessionLostError (the client logs in again once)
- InvalidLogin                       → ProviderError naming the user, never the password
- InvalidPowerState                  → InvalidPowerStateError (with the state it was in)
- DuplicateName, AlreadyExists       → DuplicateNameError
- InsufficientResourcesFault & kin   → ProviderError: what ran out, and the next step
- NoPermission                       → ProviderError naming the privilege missing
- SnapshotFault and its kin          → ProviderError: why vSphere takes no snapshot, and
                                       the next step
- TaskInProgress, HostCommunication, ConcurrentAccess, timeouts, dropped
  connections                        → TransientProviderError (retried with backoff)
- TLS verification failures          → ProviderError pointing at ``ca_file``
- any other vSphere fault            → ProviderError with the fault's name

``what`` names the object (``guests.web-0: VM 'web-0'``), so every message says
which VM failed. The simulator puts Go type names in fault messages
(``*types.InvalidPowerState``); those are dropped in favour of the fault's fields.
"""

from __future__ import annotations

import http.client
import socket
import ssl
from typing import Any

from pyVmomi import vim, vmodl

from provisioner.errors import ObjectNotFoundError, ProviderError, TransientProviderError

PRIVILEGES_HINT = "the role needs the privileges listed in docs/providers/vsphere.md"


class SessionLostError(ProviderError):
    """The session expired or was ended: the client logs in again and repeats the call
    once; a second one means the new session is refused too."""


class InvalidPowerStateError(ProviderError):
    """The VM was not in the power state the operation needs."""

    def __init__(self, message: str, hint: str = "", *, existing: str = "") -> None:
        super().__init__(message, hint)
        self.existing = existing


class TaskTimeoutError(ProviderError):
    """A task still ran after ``task_timeout``: what it does may still happen."""


class DuplicateNameError(ProviderError):
    """vSphere refused a name that is taken in the folder."""


_TRANSIENT_FAULTS: tuple[type[Any], ...] = (
    vim.fault.TaskInProgress,
    vmodl.fault.HostCommunication,
    vim.fault.ConcurrentAccess,
    vim.fault.HostConnectFault,
    vmodl.fault.RequestCanceled,
)
_SNAPSHOT_HINTS = {
    "TooManySnapshotLevels": "the VM has as long a chain of snapshots as vSphere allows; "
                             "delete some: provisioner snapshot delete NAME",
    "SnapshotDisabled": "snapshots are turned off for this VM (its snapshot.disabled "
                        "setting, or a device that allows none)",
    "MemorySnapshotOnIndependentDisk": "an independent disk keeps the running VM's memory "
                                       "from being saved; stop the VM to take one of its disks",
    "SnapshotIncompatibleDeviceInVm": "a device of the VM (a physical-mode RDM, a "
                                      "passthrough device) allows no snapshot",
    "MultipleSnapshotsNotSupported": "this host keeps one snapshot per VM; delete the other",
}
_RESOURCE_FAULTS: tuple[type[Any], ...] = (
    vim.fault.InsufficientResourcesFault,
    vim.fault.OutOfBounds,
)


def translate(exc: BaseException, what: str) -> ProviderError:
    """The project's error for ``exc``, raised by a call concerning ``what``."""
    if isinstance(exc, vmodl.MethodFault):
        return _from_fault(exc, what)
    if isinstance(exc, ssl.SSLCertVerificationError):
        return ProviderError(
            f"{what}: the server's TLS certificate could not be verified "
            f"({exc.verify_message})",
            hint="set ca_file to the CA that signed it (or to its self-signed certificate), "
                 "as docs/providers/vsphere.md describes")
    if isinstance(exc, socket.gaierror):
        return ProviderError(f"{what}: the server's host name does not resolve",
                             hint="check `server:` in the provider block")
    if isinstance(exc, ConnectionRefusedError):
        return ProviderError(f"{what}: connection refused",
                             hint="check `server:` and `port:`, and that the SDK answers there")
    if isinstance(exc, TimeoutError | ConnectionError | http.client.HTTPException | OSError):
        return TransientProviderError(f"{what}: no answer from the server ({_short(exc)})",
                                      hint="check the network; raise `timeout:` if it is slow")
    return ProviderError(f"{what}: {type(exc).__name__}: {_short(exc)}")


def _from_fault(fault: Any, what: str) -> ProviderError:
    name = type(fault).__name__.rsplit(".", 1)[-1]
    text = server_text(fault)
    detail = f" ({text})" if text else ""
    if isinstance(fault, vmodl.fault.ManagedObjectNotFound):
        return ObjectNotFoundError(f"{what}: not found (it was deleted){detail}")
    if isinstance(fault, vim.fault.InvalidLogin):
        return ProviderError(f"{what}: the user name or password is wrong",
                             hint="check username and the password's environment variable")
    if isinstance(fault, vim.fault.NotAuthenticated):
        return SessionLostError(f"{what}: the session is not logged in any more{detail}")
    if isinstance(fault, vim.fault.NoPermission):
        privilege = getattr(fault, "privilegeId", "") or "?"
        target = getattr(getattr(fault, "object", None), "_moId", None)
        on = f" (on managed object {target})" if target and target not in what else ""
        return ProviderError(f"{what}: permission denied: privilege {privilege} is missing{on}",
                             hint=PRIVILEGES_HINT)
    if isinstance(fault, vim.fault.InvalidPowerState):
        existing = str(getattr(fault, "existingState", "") or "")
        requested = str(getattr(fault, "requestedState", "") or "")
        state = f"it is {existing or 'in another state'}"
        needs = f", and this needs it {requested}" if requested else ""
        return InvalidPowerStateError(f"{what}: wrong power state: {state}{needs}",
                                      hint="plan again: the guest's power state changed",
                                      existing=existing)
    if isinstance(fault, vim.fault.DuplicateName | vim.fault.AlreadyExists):
        taken = getattr(fault, "name", "") or ""
        return DuplicateNameError(f"{what}: the name {taken!r} is already taken{detail}",
                                  hint="rename the guest, or remove or rename the other object")
    if isinstance(fault, vim.fault.SnapshotFault):
        return ProviderError(f"{what}: {name}{detail}", hint=_SNAPSHOT_HINTS.get(
            name, "vSphere refused the snapshot; the fault says why"))
    if isinstance(fault, _RESOURCE_FAULTS):
        return ProviderError(f"{what}: not enough resources: {name}{detail}",
                             hint="free memory or CPU on the cluster or host (admission control "
                                  "counts reservations), or ask for less")
    if isinstance(fault, _TRANSIENT_FAULTS):
        return TransientProviderError(f"{what}: {name}{detail}",
                                      hint="another task held the object; apply again")
    if isinstance(fault, vmodl.fault.InvalidArgument):
        argument = getattr(fault, "invalidProperty", "") or ""
        which = f" {argument}" if argument else ""
        return ProviderError(f"{what}: vSphere refused the argument{which}{detail}")
    if isinstance(fault, vim.fault.FileFault):
        file = getattr(fault, "file", "") or ""
        return ProviderError(f"{what}: {name} {file}{detail}".rstrip())
    return ProviderError(f"{what}: {name}{detail}")


def server_text(fault: Any) -> str:
    """The fault's own message, without the simulator's Go type names."""
    text = str(getattr(fault, "msg", "") or "").strip()
    if not text or text.startswith("*types."):
        return ""
    return text[:300]


def _short(exc: BaseException) -> str:
    text = str(exc) or type(exc).__name__
    return text.splitlines()[0][:200]
