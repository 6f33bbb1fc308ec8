"""``wait_for: ssh`` and ``wait_for: cloud-init``: after a guest is created (or updated)
and recorded, apply waits until it is ready, and fails the step (its dependents are
skipped; the guest stays, recorded) when it is not within ``wait_timeout``.

- ``ssh``: a TCP connection to the guest's SSH address (``access.hosts.reach``: its
  ``ip`` attribute, or the host port forwarded to its port 22) answers with an SSH
  banner (``SSH-2.0-...``). An open port that says nothing (a NAT forward to a guest
  that runs no server) is not ready.
- ``cloud-init``: SSH as above, then ``cloud-init status --wait`` run over ssh as the
  guest's login user (``access.hosts``: ``ssh:`` or cloud-init's first user), with
  ``SSH_OPTIONS``; its exit status says whether cloud-init finished without errors.

Waits between attempts grow from 0.5 s to 5 s. Nothing here prints what the guest
said beyond cloud-init's last status line.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Any

from provisioner.core.resources import LiveObject, Resource
from provisioner.errors import ProvisionerError

WAITS = ("ssh", "cloud-init")
"""The ``wait_for`` values this module waits for (``ip`` is the providers')."""
BANNER = b"SSH-"
FIRST_WAIT = 0.5
LONGEST_WAIT = 5.0
SSH_OPTIONS = ("-o", "BatchMode=yes", "-o", "StrictHostKeyChecking=no",
               "-o", "UserKnownHostsFile=/dev/null", "-o", "LogLevel=ERROR",
               "-o", "ConnectTimeout=10")
"""How apply's own ssh runs log in (cloud-init waits, hooks): keys or an agent, never a
prompt; host keys not checked nor remembered, as Vagrant does for its machines: a lab's
guests are made again at the same addresses with new keys. ``provisioner ssh`` is the
user's own ssh, with their known_hosts."""


class NotReadyError(ProvisionerError):
    """The guest exists but did not become ready in time."""


def waits(resource: Resource) -> str | None:
    """What apply waits for after changing ``resource`` here (None: nothing)."""
    wanted = resource.settings.get("wait_for")
    return str(wanted) if wanted in WAITS and resource.spec.get("power") != "stopped" \
        else None


def wait_ready(resource: Resource, live: LiveObject, what: str | None = None) -> None:
    """Wait for what ``resource`` asks (``waits``); raises NotReadyError."""
    wanted = waits(resource) if what is None else what
    if wanted is None:
        return
    from provisioner.access.hosts import reach  # only for a guest that waits (issue 19)

    timeout = float(resource.settings.get("wait_timeout") or 300)
    deadline = time.monotonic() + timeout
    host, port = reach(resource, live.attributes)
    if host is None:
        raise NotReadyError(f"no address to reach it (wait_for: {wanted})",
                            hint="give it a NIC whose address the provider reports, or a "
                                 "forward to its port 22; wait_for: ip shows which")
    _wait_banner(host, port, deadline, timeout, wanted)
    if wanted == "cloud-init":
        _wait_cloud_init(resource, live.attributes, deadline, timeout)


def _wait_banner(host: str, port: int, deadline: float, timeout: float, wanted: str) -> None:
    delay = FIRST_WAIT
    while True:
        if _banner(host, port, max(0.5, min(5.0, deadline - time.monotonic()))):
            return
        if time.monotonic() + delay > deadline:
            raise NotReadyError(f"no SSH server answered on {host}:{port} within "
                                f"{timeout:.0f}s (wait_for: {wanted})",
                                hint="check that the guest runs an SSH server, or raise "
                                     "wait_timeout")
        time.sleep(delay)
        delay = min(delay * 2, LONGEST_WAIT)


def _banner(host: str, port: int, timeout: float) -> bool:
    """Whether ``host:port`` answers with an SSH banner now."""
    import socket

    try:
        with socket.create_connection((host, port), timeout=timeout) as connection:
            connection.settimeout(timeout)
            return connection.recv(256).startswith(BANNER)
    except OSError:
        return False


def _wait_cloud_init(resource: Resource, attributes: Mapping[str, Any], deadline: float,
                     timeout: float) -> None:
    import subprocess

    from provisioner.access.hosts import host_of
    from provisioner.access.ssh_config import ssh_command

    host = host_of(resource, attributes)
    argv = ssh_command(host, ["cloud-init", "status", "--wait"])
    argv[1:1] = SSH_OPTIONS
    left = max(1.0, deadline - time.monotonic())
    try:
        done = subprocess.run(argv, capture_output=True, text=True, timeout=left, check=False,
                              stdin=subprocess.DEVNULL)
    except subprocess.TimeoutExpired:
        raise NotReadyError(f"cloud-init did not finish within {timeout:.0f}s "
                            "(wait_for: cloud-init)", hint="raise wait_timeout") from None
    except FileNotFoundError:
        raise NotReadyError("wait_for: cloud-init needs the ssh client",
                            hint="install the OpenSSH client") from None
    if done.returncode != 0:
        said = (done.stdout.strip().splitlines() or done.stderr.strip().splitlines()
                or ["no output"])[-1]
        raise NotReadyError(f"cloud-init did not finish cleanly on {host.ip} "
                            f"(`cloud-init status --wait` exited {done.returncode}: {said})",
                            hint="log in with provisioner ssh and read "
                                 "/var/log/cloud-init-output.log")
