"""The guests of a stack as hosts to log in to. Pure: the stack and the state's records.

A host's address is the ``ip`` the last apply (or refresh) recorded; a guest whose
NIC forwards a host port to its port 22 (the qemu provider's user-mode network) is
reached there instead. Its user is ``ssh.user`` when the stack says one, else the
first user its cloud-init user-data creates (``users:``, or ``user:``), else none
(OpenSSH then uses the local user). Groups: the declared name of a guest with
``count`` (``web`` for ``web-0`` and ``web-1``; a single guest's name is its host's,
and Ansible warns about a group named like a host) and its ``groups:``, with ``-``
made ``_`` (Ansible's group names).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import yaml

from provisioner.core.address import Address, Kind
from provisioner.core.resources import Blob, Resource
from provisioner.core.specs import NicSpec
from provisioner.stack.loader import Stack
from provisioner.state.store import AppliedRecord

SSH_PORT = 22
_GROUP_CHARS = re.compile(r"[^A-Za-z0-9_]")


@dataclass(frozen=True)
class Host:
    """One guest, as a login needs it."""

    name: str
    """The guest's name on the hypervisor (``web-0``): the inventory's host name."""
    address: Address
    provider: str
    ip: str | None
    port: int = SSH_PORT
    user: str | None = None
    identity_file: str | None = None
    node: str | None = None
    groups: tuple[str, ...] = ()
    extra: Mapping[str, Any] = field(default_factory=dict)

    @property
    def reachable(self) -> bool:
        return self.ip is not None


def group_name(text: str) -> str:
    """``text`` as an Ansible group name (letters, digits, ``_``; not starting with a
    digit)."""
    name = _GROUP_CHARS.sub("_", text)
    return f"_{name}" if name[:1].isdigit() else name


def hosts_of(stack: Stack, records: Mapping[Address, AppliedRecord]) -> list[Host]:
    """Every guest of the stack the state knows, in address order."""
    declared = {member: group for group, members in stack.groups.items()
                for member in members}
    found = []
    for resource in sorted(stack.resources, key=lambda r: r.address):
        record = records.get(resource.address)
        if resource.kind is not Kind.GUEST or record is None:
            continue
        found.append(_host(resource, record, declared.get(resource.address,
                                                           resource.address)))
    return found


def host_of(resource: Resource, attributes: Mapping[str, Any], name: str = "") -> Host:
    """One guest as a login needs it, from its declaration and its attributes."""
    return _host(resource, AppliedRecord(resource.address, resource.provider, {}, name=name,
                                         attributes=attributes), resource.address)


def _host(resource: Resource, record: AppliedRecord, declared: Address) -> Host:
    settings = resource.settings
    access = settings.get("ssh") or {}
    attributes = record.attributes
    ip, port = reach(resource, attributes)
    counted = [group_name(declared.name)] if declared != resource.address else []
    groups = [*counted, *(group_name(g) for g in settings.get("groups") or ())]
    return Host(
        name=record.name or resource.name, address=resource.address,
        provider=resource.provider, ip=ip,
        port=int(access.get("port") or port),
        user=access.get("user") or cloud_init_user(resource.spec.get("cloud_init")),
        identity_file=access.get("identity_file"),
        node=_text(attributes.get("node") or attributes.get("host")
                   or resource.spec.get("node")),
        groups=tuple(dict.fromkeys(groups)))


def reach(resource: Resource, attributes: Mapping[str, Any]) -> tuple[str | None, int]:
    """(address, port) to reach the guest's SSH: a forward of port 22, else its IP."""
    for nic in resource.spec.get("networks") or ():
        if not isinstance(nic, Mapping):
            continue
        for forward in NicSpec.of(nic).forwards:
            if forward.guest == SSH_PORT and forward.protocol == "tcp":
                address = forward.address if forward.address != "0.0.0.0" else "127.0.0.1"
                return address, forward.host
    return _text(attributes.get("ip")), SSH_PORT


def _text(value: Any) -> str | None:
    return None if value in (None, "") else str(value)


def cloud_init_user(cloud_init: Any) -> str | None:
    """The first user a cloud-init user-data creates (``users:`` entries that are
    mappings with a name, or names other than ``default``; else ``user:``)."""
    blob = cloud_init.get("user_data") if isinstance(cloud_init, Mapping) else None
    if not isinstance(blob, Blob) or not blob.content:
        return None
    try:
        document = yaml.safe_load(blob.content)
    except yaml.YAMLError:
        return None
    if not isinstance(document, Mapping):
        return None
    return _first_user(document.get("users")) or _named(document.get("user"))


def _first_user(users: Any) -> str | None:
    if not isinstance(users, list):
        return None
    for entry in users:
        name = entry.get("name") if isinstance(entry, Mapping) else entry
        if isinstance(name, str) and name and name != "default":
            return name
    return None


def _named(user: Any) -> str | None:
    if isinstance(user, Mapping):
        user = user.get("name")
    return user if isinstance(user, str) and user else None


def by_name(hosts: Iterable[Host], name: str) -> Host | None:
    """The host called ``name`` (its guest name, or its address: ``guests.web-0``)."""
    return next((host for host in hosts if name in (host.name, str(host.address))), None)
