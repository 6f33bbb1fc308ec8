"""inventory, ssh-config and ssh: getting into the guests a stack runs.

They read the stack and the state store only (the addresses the last apply or
refresh recorded), never a hypervisor: run ``provisioner apply`` (or ``plan
--refresh-only``) first for current addresses.
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Literal

import typer

from provisioner.cli.common import (
    echo,
    load,
    user_errors,
)
from provisioner.cli.typer_flags import (
    DebugOption,
    EnvOption,
    StackPath,
    StateBackendOption,
    StateOption,
    VarFileOption,
    VarOption,
)
from provisioner.errors import UsageError, UserError

if TYPE_CHECKING:
    from provisioner.access.hosts import Host
    from provisioner.stack.loader import Stack


def _hosts(stack: Path, var: list[str] | None, var_file: list[Path] | None,
           state: Path | None, state_backend: str | None,
           env: str | None) -> tuple[Stack, list[Host]]:
    from provisioner.access.hosts import hosts_of
    from provisioner.core.address import Kind
    from provisioner.state.factory import open_store

    loaded = load(stack, var, var_file, secrets="state", env=env, state=state,
                  state_backend=state_backend)
    with open_store(loaded, state, state_backend) as store:
        records = store.applied()
    hosts = hosts_of(loaded, records)
    if not hosts and any(r.kind is Kind.GUEST for r in loaded.resources):
        echo(f"note: no guest of stack {loaded.identity} is recorded yet: run provisioner "
             "apply first (the state holds their addresses)", err=True)
    return loaded, hosts


def _one(hosts: list[Host], guest: str) -> Host:
    """The host ``guest`` names; a usage error listing the guests when none."""
    from provisioner.access.hosts import by_name

    found = by_name(hosts, guest)
    if found is None:
        known = ", ".join(host.name for host in hosts) or "none applied yet"
        raise UsageError(f"no guest '{guest}' in the state (guests: {known})",
                         hint="run provisioner apply first, or name one of these")
    return found


def inventory(
    stack: StackPath = Path("."),
    output_format: Annotated[Literal["yaml", "json"], typer.Option(
        "--format", help="yaml: an inventory file; json: what --list prints.")] = "yaml",
    list_: Annotated[bool, typer.Option(
        "--list", help="Print every group and host as JSON (Ansible's dynamic inventory "
                       "protocol).")] = False,
    host: Annotated[str | None, typer.Option(
        "--host", help="Print one host's variables as JSON (dynamic inventory protocol).")]
    = None,
    var: VarOption = None,
    var_file: VarFileOption = None,
    env: EnvOption = None,
    state: StateOption = None,
    state_backend: StateBackendOption = None,
    debug: DebugOption = False,
) -> None:
    """Print an Ansible inventory of the stack's guests: groups from guest names (web for
    web-0, web-1) and their groups:, host variables ansible_host, ansible_user,
    ansible_port, provisioner_provider, provisioner_node.

    As a dynamic inventory, point ansible at a two-line script that runs
    `provisioner inventory STACK "$@"` (Ansible adds --list or --host NAME).

    Example: provisioner inventory stacks/lab > hosts.yml && ansible-playbook -i hosts.yml site.yml
    """
    with user_errors(debug):
        from provisioner.access.inventory import inventory_json, inventory_yaml, one_host

        loaded, hosts = _hosts(stack, var, var_file, state, state_backend, env)
        if host is not None:
            echo(json.dumps(one_host(hosts, host), indent=2, sort_keys=True))
        elif list_ or output_format == "json":
            echo(json.dumps(inventory_json(hosts), indent=2, sort_keys=True))
        else:
            echo(inventory_yaml(hosts, loaded.identity).rstrip("\n"))


def ssh_config(
    stack: StackPath = Path("."),
    var: VarOption = None,
    var_file: VarFileOption = None,
    env: EnvOption = None,
    state: StateOption = None,
    state_backend: StateBackendOption = None,
    debug: DebugOption = False,
) -> None:
    """Print OpenSSH Host blocks for the stack's guests (HostName, Port, User,
    IdentityFile), to append to ~/.ssh/config or Include from it.

    Example: provisioner ssh-config stacks/lab > ~/.ssh/lab.conf
    """
    with user_errors(debug):
        from provisioner.access.ssh_config import ssh_config as blocks

        loaded, hosts = _hosts(stack, var, var_file, state, state_backend, env)
        echo(blocks(hosts, loaded.identity).rstrip("\n"))


def ssh(
    guest: Annotated[str, typer.Argument(help="The guest: its name (web-0) or address "
                                              "(guests.web-0).")],
    command: Annotated[list[str] | None, typer.Argument(
        help="A command to run there instead of a shell (after --).")] = None,
    stack: Annotated[Path, typer.Option(
        "--stack", "-s", help="The stack's directory or file.")] = Path("."),
    show: Annotated[bool, typer.Option(
        "--print", help="Print the ssh command line instead of running it.")] = False,
    var: VarOption = None,
    var_file: VarFileOption = None,
    env: EnvOption = None,
    state: StateOption = None,
    state_backend: StateBackendOption = None,
    debug: DebugOption = False,
) -> None:
    """Log in to a guest with ssh, with the address, port and user the stack and the
    state know (your ~/.ssh/config and agent apply as for any ssh).

    Example: provisioner ssh web-0 -s stacks/lab -- uptime
    """
    with user_errors(debug):
        from provisioner.access.ssh_config import ssh_command

        _loaded, hosts = _hosts(stack, var, var_file, state, state_backend, env)
        found = _one(hosts, guest)
        if found.ip is None:
            raise UserError(f"{found.address} has no address recorded yet",
                            hint="wait for it to get one (wait_for: ip), then run "
                                 "provisioner plan --refresh-only")
        argv = ssh_command(found, command or [])
        if show:
            echo(" ".join(argv))
            return
        if shutil.which(argv[0]) is None:
            raise UserError("ssh is not installed", hint="install the OpenSSH client")
    os.execvp(argv[0], argv)  # hands the terminal to ssh


def console(
    guest: Annotated[str, typer.Argument(help="The guest: its name (web-0) or address "
                                              "(guests.web-0).")],
    stack: Annotated[Path, typer.Option(
        "--stack", "-s", help="The stack's directory or file.")] = Path("."),
    show: Annotated[bool, typer.Option(
        "--print", help="Print the command line instead of running it.")] = False,
    var: VarOption = None,
    var_file: VarFileOption = None,
    env: EnvOption = None,
    state: StateOption = None,
    state_backend: StateBackendOption = None,
    debug: DebugOption = False,
) -> None:
    """Attach to a guest's serial console: libvirt's (virsh console; Ctrl-] leaves), or
    follow a qemu guest's console log; other providers name their own console.

    Example: provisioner console web-0 -s stacks/lab
    """
    with user_errors(debug):
        from provisioner.access.console import console_command

        loaded, hosts = _hosts(stack, var, var_file, state, state_backend, env)
        found = _one(hosts, guest)
        block = loaded.providers[found.provider]
        argv = console_command(block.plugin.type_name, block.config, loaded.identity,
                               found.provider, found.name, loaded.root)
        if show:
            echo(" ".join(argv))
            return
        if shutil.which(argv[0]) is None:
            raise UserError(f"{argv[0]} is not installed",
                            hint="install libvirt's clients (virsh)")
    os.execvp(argv[0], argv)  # hands the terminal to the console

