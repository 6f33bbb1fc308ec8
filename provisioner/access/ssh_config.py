"""OpenSSH ``Host`` blocks for a stack's guests (``provisioner ssh-config``), and the
``ssh`` command line that logs in to one (``provisioner ssh``). Pure.

The blocks set only what the stack knows (HostName, Port, User, IdentityFile), so
everything else comes from the user's own ``~/.ssh/config`` and agent: append the
output there, or ``Include`` a file holding it.
"""

from __future__ import annotations

from collections.abc import Sequence

from provisioner.access.hosts import SSH_PORT, Host


def ssh_config(hosts: Sequence[Host], stack: str) -> str:
    """One ``Host`` block per guest with an address."""
    blocks = [f"# guests of stack {stack}, written by `provisioner ssh-config`"]
    for host in hosts:
        if host.ip is None:
            blocks.append(f"# {host.name} ({host.address}): no address known yet")
            continue
        lines = [f"Host {host.name}", f"  HostName {host.ip}"]
        if host.port != SSH_PORT:
            lines.append(f"  Port {host.port}")
        if host.user:
            lines.append(f"  User {host.user}")
        if host.identity_file:
            lines.append(f"  IdentityFile {host.identity_file}")
        blocks.append("\n".join(lines))
    return "\n\n".join(blocks) + "\n"


def ssh_command(host: Host, command: Sequence[str], program: str = "ssh") -> list[str]:
    """The argv that logs in to ``host`` (and runs ``command`` there, if any)."""
    argv = [program]
    if host.port != SSH_PORT:
        argv += ["-p", str(host.port)]
    if host.identity_file:
        argv += ["-i", host.identity_file]
    target = f"{host.user}@{host.ip}" if host.user else str(host.ip)
    return [*argv, "--", target, *command]  # options end before the destination
