"""XAPI errors, translated once into provisioner's errors.

XAPI answers a refused call with an error code and its parameters
(``["VM_BAD_POWER_STATE", vm, "halted", "running"]``); the ``XenAPI`` package
raises them as ``XenAPI.Failure(details)``. ``translate`` turns one into a
``ProviderError`` naming what was being done (``guest web-0: VM.start``), the
code, what it means and the next step; codes that mean "try again" become
``TransientProviderError`` (the client retries those), and a lost session or
connection ``ConnectionLostError``. Parameters that are references
(``OpaqueRef:...``) are left out of messages: they mean nothing to a reader.
"""

from __future__ import annotations

import http.client
import ssl
from collections.abc import Sequence
from typing import Any

from provisioner.errors import (
    ConnectionLostError,
    ObjectNotFoundError,
    ProviderError,
    TransientProviderError,
)

TRANSIENT = frozenset({
    "OTHER_OPERATION_IN_PROGRESS", "HOST_STILL_BOOTING", "TOO_BUSY", "TOO_MANY_PENDING_TASKS",
    "HOST_OFFLINE", "SR_BACKEND_FAILURE_46", "VDI_IN_USE_TEMPORARILY",
    "XENAPI_PLUGIN_FAILURE_TEMPORARY", "CANNOT_CONTACT_HOST",
})
"""Refusals that change nothing and go away by themselves: asked again with backoff."""

MEANINGS: dict[str, tuple[str, str]] = {
    "VM_BAD_POWER_STATE": ("the VM is not in the power state this needs",
                           "run plan again: it reads the VM's state now"),
    "SR_FULL": ("the storage repository has no room for it",
                "free space on the SR, or put the disk on another `pool:`"),
    "HANDLE_INVALID": ("an object it names no longer exists",
                       "run plan again: something changed the pool meanwhile"),
    "OPERATION_NOT_ALLOWED": ("XAPI does not allow this now", ""),
    "VDI_IN_USE": ("the disk is in use by a running VM or another operation",
                   "stop the VM that uses it, then apply again"),
    "MEMORY_CONSTRAINT_VIOLATION": (
        "memory must be static_min <= dynamic_min <= dynamic_max <= static_max",
        "check memory, options.memory_min and options.memory_max"),
    "HOST_NOT_ENOUGH_FREE_MEMORY": ("the host has not enough free memory to start it",
                                    "give it less memory, or free memory on the host"),
    "NO_HOSTS_AVAILABLE": ("no host of the pool can run it",
                           "check the hosts' free memory and the VM's `node:`"),
    "VM_IS_TEMPLATE": ("it is a template, which cannot run", ""),
    "RBAC_PERMISSION_DENIED": ("the user's role does not allow this",
                               "log in as a user with the pool-admin or vm-admin role"),
    "SESSION_AUTHENTICATION_FAILED": ("user name or password refused",
                                      "check the block's username, and the password it reads "
                                      "(such as the environment variable ${env.X} names)"),
    "DEVICE_ALREADY_EXISTS": ("a disk or NIC already sits at that device number", ""),
    "VM_REQUIRES_SR": ("the VM needs a storage repository this host cannot reach", ""),
    "LICENCE_RESTRICTION": ("the pool's licence lacks this feature", ""),
    "VM_LACKS_FEATURE": ("the guest's tools do not support this while it runs",
                         "install the guest tools, or let the change restart it"),
    "VALUE_NOT_SUPPORTED": ("XAPI does not accept this value", ""),
    "SR_OPERATION_NOT_SUPPORTED": ("the storage repository does not support this", ""),
    "VM_IS_SNAPSHOT": ("it is a snapshot, which cannot do this", ""),
    "VM_REVERT_FAILED": ("XAPI could not put the snapshot back; the guest is halted",
                         "see the pool's log for why, then revert again"),
    "VM_CHECKPOINT_SUSPEND_FAILED": (
        "the guest could not be suspended to keep its memory",
        "install the guest tools, or stop the guest and take a snapshot of its disks"),
}


def _readable(params: Sequence[Any]) -> list[str]:
    return [str(p) for p in params if not str(p).startswith("OpaqueRef:") and str(p) != ""]


def describe(details: Sequence[Any]) -> tuple[str, str, str]:
    """(code, what it means with its readable parameters, hint) of a XAPI error."""
    code = str(details[0]) if details else "UNKNOWN_ERROR"
    meaning, hint = MEANINGS.get(code, ("", ""))
    params = _readable(details[1:])
    text = code
    if meaning:
        text += f": {meaning}"
    if params:
        text += f" ({', '.join(params)})"
    return code, text, hint


def failure_error(details: Sequence[Any], what: str) -> ProviderError:
    """The error of a XAPI failure while doing ``what`` (``guest web-0: VM.start``)."""
    code, text, hint = describe(details)
    message = f"{what}: XAPI refused: {text}"
    if code in TRANSIENT:
        return TransientProviderError(message, hint=hint or "apply again")
    if code == "HANDLE_INVALID":
        return ObjectNotFoundError(message, hint=hint)
    if code == "SESSION_INVALID":
        return ConnectionLostError(message, hint="the session ended; apply again")
    return ProviderError(message, hint=hint)


def transport_error(exc: BaseException, what: str, url: str) -> ProviderError:
    """The error of a call that did not reach XAPI, or whose answer was lost."""
    if isinstance(exc, ssl.SSLCertVerificationError):
        return ProviderError(f"{what}: the TLS certificate of {url} is not trusted "
                             f"({exc.verify_message})",
                             hint="give the pool master's certificate as ca_file")
    if isinstance(exc, (OSError, http.client.HTTPException)):
        return ConnectionLostError(f"{what}: no answer from {url} ({exc})",
                                   hint="check the url and that the pool master is up")
    return ProviderError(f"{what}: {exc}")
