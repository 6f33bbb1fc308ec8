"""Values a hypervisor must be able to store as written, checked when the stack loads.

A value the hypervisor rounds (1536B of memory stored as 1KiB) is applied, read back
different and shown as a change by every later plan; two disks in one slot, or a
DHCP range from the network's own address, fail half way through an apply. All are
refused here, at the line, before anything is called.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping
from typing import Protocol

from provisioner.core.address import Kind
from provisioner.core.plugins import ProviderPlugin
from provisioner.errors import StackProblem
from provisioner.stack.model import Container, Guest, Network, ResourceBase, Volume
from provisioner.stack.source import PathKey, SourceMap, format_path
from provisioner.units import format_size

_UNIT_NAMES = {1024: "KiB", 1024 * 1024: "MiB", 4 * 1024 * 1024: "4 MiB"}


class _Configured(Protocol):
    @property
    def plugin(self) -> ProviderPlugin: ...


def check_stored_values(entries: Mapping[Kind, Mapping[str, ResourceBase]],
                        providers: Mapping[str, _Configured | None],
                        source: SourceMap) -> list[StackProblem]:
    """Memory in whole units of what each resource's provider stores; disk slots
    used once per guest; DHCP ranges off the network and broadcast addresses; a qcow2
    volume attached to one guest at most."""
    problems: list[StackProblem] = []
    for name, network in entries.get(Kind.NETWORK, {}).items():
        if isinstance(network, Network):
            problems += _dhcp_range(network, (Kind.NETWORK.value, name), source)
    for kind in (Kind.GUEST, Kind.CONTAINER):
        for name, entry in entries.get(kind, {}).items():
            if not isinstance(entry, Guest | Container):
                continue
            provider = providers.get(entry.provider)
            if provider is not None:
                problems += _memory(entry.memory, provider.plugin, (kind.value, name, "memory"),
                                    source)
            if isinstance(entry, Guest):
                problems += _slots(entry, (kind.value, name), source)
    return problems + _shared_qcow2(entries, source)


def _shared_qcow2(entries: Mapping[Kind, Mapping[str, ResourceBase]],
                  source: SourceMap) -> list[StackProblem]:
    """A qcow2 volume is attached to one guest at most: QEMU locks the image for
    writing ("Failed to get "write" lock"), so a second guest fails to start, and
    libvirt refuses ``<shareable/>`` on qcow2. Raw volumes are attached shareable."""
    volumes = entries.get(Kind.VOLUME, {})
    holders: dict[str, str] = {}
    problems: list[StackProblem] = []
    for name, entry in entries.get(Kind.GUEST, {}).items():
        if not isinstance(entry, Guest):
            continue
        instances = 1 if entry.count is None else entry.count
        for index, disk in enumerate(entry.disks):
            volume = volumes.get(disk.volume or "")
            if not isinstance(volume, Volume) or volume.format != "qcow2" or instances == 0:
                continue
            where: PathKey = (Kind.GUEST.value, name, "disks", index, "volume")
            holder = holders.setdefault(disk.volume or "", f"guests.{name}")
            if holder != f"guests.{name}" or instances > 1:
                shared = (f"the {instances} instances of guests.{name}" if holder ==
                          f"guests.{name}" else f"guests.{name} and {holder}")
                problems.append(StackProblem(
                    source.value_at(where), format_path(where),
                    f"volume {disk.volume} is qcow2 and would be attached to {shared}: "
                    "QEMU locks a qcow2 image to one guest",
                    f"set `format: raw` on volumes.{disk.volume} (raw volumes are attached "
                    "shareable), or give each guest its own volume"))
    return problems


def _memory(memory: int, plugin: ProviderPlugin, path: PathKey,
            source: SourceMap) -> list[StackProblem]:
    unit = plugin.memory_unit
    if memory % unit == 0:
        return []
    below, above = memory - memory % unit, memory - memory % unit + unit
    nearest = " or ".join(format_size(size) for size in (below, above) if size > 0)
    what = _UNIT_NAMES.get(unit, f"{unit} bytes")
    return [StackProblem(source.value_at(path), format_path(path),
                         f"{format_size(memory)} is not a whole number of {what}, the unit "
                         f"{plugin.type_name} stores memory in",
                         f"write {nearest}")]


def _dhcp_range(network: Network, path: PathKey, source: SourceMap) -> list[StackProblem]:
    """dnsmasq would hand out the subnet's network or broadcast address, which no guest
    can use."""
    if network.dhcp_range is None or network.cidr is None:
        return []
    subnet = ipaddress.IPv4Network(network.cidr)
    if subnet.prefixlen >= 31:
        return []
    reserved = {subnet.network_address: "network", subnet.broadcast_address: "broadcast"}
    problems = []
    for end in ("start", "end"):
        address = ipaddress.IPv4Address(getattr(network.dhcp_range, end))
        if address in reserved:
            where: PathKey = (*path, "dhcp_range", end)
            problems.append(StackProblem(
                source.value_at(where), format_path(where),
                f"{address} is the {reserved[address]} address of {subnet}",
                f"hand out addresses from {subnet.network_address + 2} to "
                f"{subnet.broadcast_address - 1}"))
    return problems


def _slots(guest: Guest, path: PathKey, source: SourceMap) -> list[StackProblem]:
    problems: list[StackProblem] = []
    taken: dict[str, int] = {}
    for index, disk in enumerate(guest.disks):
        if disk.slot is None:
            continue
        first = taken.setdefault(disk.slot, index)
        if first != index:
            where: PathKey = (*path, "disks", index, "slot")
            problems.append(StackProblem(source.value_at(where), format_path(where),
                                         f"slot {disk.slot} is also disks[{first}]'s",
                                         "give each disk its own slot, or leave slot out "
                                         "(the next free one is taken)"))
    return problems
