"""An Ansible inventory of a stack's guests: as YAML (a static inventory file) or as the
JSON a dynamic inventory script prints (``--list``, ``--host``). Pure.

Host names are the guests' names; host variables: ``ansible_host`` (the address),
``ansible_port`` (when not 22), ``ansible_user``, ``ansible_ssh_private_key_file``,
and ``provisioner_address``, ``provisioner_provider``, ``provisioner_node``. Groups:
each guest's declared name and its ``groups:`` (``hosts.Host.groups``).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import yaml

from provisioner.access.hosts import SSH_PORT, Host

UNGROUPED = "ungrouped"
"""Ansible's group of the hosts that are in no other."""


def host_vars(host: Host) -> dict[str, Any]:
    """The variables of one host (none that are unknown)."""
    values: dict[str, Any] = {
        "ansible_host": host.ip,
        "ansible_port": host.port if host.port != SSH_PORT else None,
        "ansible_user": host.user,
        "ansible_ssh_private_key_file": host.identity_file,
        "provisioner_address": str(host.address),
        "provisioner_provider": host.provider,
        "provisioner_node": host.node,
    }
    return {key: value for key, value in values.items() if value is not None}


def _groups(hosts: Iterable[Host]) -> dict[str, list[str]]:
    """Group → its hosts, sorted; hosts in no group last, under ``ungrouped``."""
    found: dict[str, list[str]] = {}
    alone = []
    for host in hosts:
        for group in host.groups:
            found.setdefault(group, []).append(host.name)
        if not host.groups:
            alone.append(host.name)
    return {**dict(sorted(found.items())), **({UNGROUPED: alone} if alone else {})}


def inventory_json(hosts: list[Host]) -> dict[str, Any]:
    """What ``--list`` prints: groups with their hosts, every host's variables in
    ``_meta`` (so Ansible needs no ``--host`` call per host)."""
    groups = _groups(hosts)
    document: dict[str, Any] = {
        "_meta": {"hostvars": {host.name: host_vars(host) for host in hosts}},
        "all": {"children": [*(g for g in groups if g != UNGROUPED), UNGROUPED]},
    }
    for group, members in groups.items():
        document[group] = {"hosts": members}
    return document


def inventory_yaml(hosts: list[Host], stack: str) -> str:
    """A YAML inventory file: each host's variables under its first group."""
    placed: set[str] = set()
    children: dict[str, Any] = {}
    by_name = {host.name: host for host in hosts}
    for group, members in _groups(hosts).items():
        entries: dict[str, Any] = {}
        for name in members:
            entries[name] = None if name in placed else host_vars(by_name[name])
            placed.add(name)
        children[group] = {"hosts": entries}
    header = f"# Ansible inventory of stack {stack}, written by `provisioner inventory`\n"
    return header + yaml.safe_dump({"all": {"children": children}}, sort_keys=False,
                                   default_flow_style=False)


def one_host(hosts: Iterable[Host], name: str) -> Mapping[str, Any]:
    """What ``--host NAME`` prints: the host's variables, or {} for an unknown name."""
    return next((host_vars(host) for host in hosts if host.name == name), {})
