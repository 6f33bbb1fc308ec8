"""A guest spec written as QEMU config keys, and what must change to get there.

``config_changes`` compares the config a spec wants with the config a guest
has, key by key and by meaning (``"2048"`` equals ``2048``, property strings
by key, tags as a set): only what differs is written. A key the spec leaves
unset is left alone, unless its field is one of the ``changed`` paths (the
stack removed it): then it is deleted.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from provisioner.core.specs import DiskSpec, GuestSpec
from provisioner.providers.kit.changes import touched
from provisioner.providers.proxmox import CloudInitOptions, GuestOptions
from provisioner.providers.proxmox.nics import format_qemu_nic, same_nic, write_nic
from provisioner.providers.proxmox.props import (
    flag,
    format_props,
    gib_text,
    mib,
    parse_props,
    quote_keys,
    split_tags,
    to_int,
    unquote_keys,
)
from provisioner.providers.proxmox.qemu_read import cloudinit_slot, disks_of, nets_of

CLOUDINIT_SLOTS = ("ide2", "ide0", "ide1", "ide3", "sata5")
"""Where a new cloud-init drive goes: the first of these the guest does not use."""
_SIMPLE = (("cpu_type", "cpu"), ("machine", "machine"), ("bios", "bios"), ("ostype", "ostype"),
           ("scsihw", "scsihw"))


@dataclass
class ConfigChange:
    """Keys to set and keys to delete, in one config write."""

    set: dict[str, str] = field(default_factory=dict)
    delete: list[str] = field(default_factory=list)

    def __bool__(self) -> bool:
        return bool(self.set or self.delete)

    def params(self) -> dict[str, str]:
        params = dict(self.set)
        if self.delete:
            params["delete"] = ",".join(self.delete)
        return params


@dataclass(frozen=True)
class Wanted:
    """Everything a guest's config should hold that is not a disk."""

    values: Mapping[str, str | None]
    """Config key → value; None: not wanted (deleted only when its field changed)."""
    paths: Mapping[str, tuple[str, ...]]
    """Config key → the spec paths it comes from (for ``changed``): a container's NIC
    holds ``networks[N]`` and its addresses, ``options.ipconfig[N]``."""

    def touched(self, key: str, changed: Collection[str]) -> bool:
        """Whether ``changed`` names a field of ``key`` (a key of no field: never)."""
        return any(touched(path, changed) for path in self.paths.get(key, ()))


def wanted_config(guest: GuestSpec, name: str, tags: str, description: str,
                  current: Mapping[str, Any], changed: Collection[str] | None,
                  storage_of: Callable[[str | None], str]) -> Wanted:
    """The config ``guest`` asks for, written over ``current`` where devices keep what
    the stack does not set (a NIC's MAC)."""
    options = guest.options_as(GuestOptions)
    values: dict[str, str | None] = {"name": name, "tags": tags, "description": description}
    paths: dict[str, tuple[str, ...]] = {"tags": ("options.tags",)}

    def want(key: str, path: str, value: str | None) -> None:
        values[key] = value
        paths[key] = (path,)

    want("cores", "cpus", str(guest.cpus))
    want("memory", "memory", str(mib(guest.memory)))
    want("onboot", "autostart", flag(guest.autostart))
    sockets = options.sockets if "sockets" in guest.options else None  # unset: not written
    want("sockets", "options.sockets", None if sockets is None else str(sockets))
    balloon = options.balloon
    want("balloon", "options.balloon", None if balloon is None else str(mib(int(balloon))))
    for option, key in _SIMPLE:
        want(key, f"options.{option}", getattr(options, option))
    agent = options.agent
    want("agent", "options.agent", None if agent is None else flag(bool(agent)))
    nets = nets_of(current)
    for index, nic in guest.indexed_networks:
        path = f"networks[{index}]"
        props = write_nic(nic, nets.get(index, {}), path,
                          changed if index in nets else None, "macaddr")
        want(f"net{index}", path, format_qemu_nic(props))
    _cloud_init(options.cloud_init, current, want, storage_of)
    return Wanted(values, paths)


def _cloud_init(cloud_init: CloudInitOptions | None, current: Mapping[str, Any],
                want: Callable[[str, str, str | None], None],
                storage_of: Callable[[str | None], str]) -> None:
    base = "options.cloud_init"
    ci = cloud_init or CloudInitOptions()
    want("ciuser", f"{base}.user", ci.user)
    keys = list(ci.ssh_keys or [])
    want("sshkeys", f"{base}.ssh_keys", quote_keys(keys) if keys else None)
    want("nameserver", f"{base}.nameserver", ci.nameserver)
    want("searchdomain", f"{base}.searchdomain", ci.searchdomain)
    snippets = ci.custom.model_dump() if ci.custom is not None else {}
    custom = {k: v for k, v in snippets.items() if v}
    want("cicustom", f"{base}.custom", format_props(custom) if custom else None)
    declared = list(ci.ipconfig or [])
    present = [int(k[8:]) for k in current if k.startswith("ipconfig") and k[8:].isdigit()]
    for index in range(max(len(declared), max(present, default=-1) + 1)):
        want(f"ipconfig{index}", f"{base}.ipconfig[{index}]",
             declared[index] if index < len(declared) else None)
    slot = cloudinit_slot(current) or next(
        (s for s in CLOUDINIT_SLOTS if s not in current), CLOUDINIT_SLOTS[0])
    drive = f"{storage_of(ci.storage)}:cloudinit" if cloud_init is not None else None
    if cloudinit_slot(current) is None or drive is None:
        want(slot, base, drive)


def config_changes(wanted: Wanted, current: Mapping[str, Any],
                   changed: Collection[str] | None) -> ConfigChange:
    """What to write so ``current`` holds ``wanted``. An update (``changed`` given)
    considers only the keys of the fields it names, and the keys no field owns (the
    name, and the description that holds the marker): a key of an untouched field
    is never written, whatever the guest holds (a value set in the UI, or one
    Proxmox fills in), so an update cannot leave a change pending that the plan did
    not list."""
    change = ConfigChange()
    for key, value in wanted.values.items():
        if changed is not None and key in wanted.paths and not wanted.touched(key, changed):
            continue
        if value is None:
            if key in current and changed is not None:
                change.delete.append(key)
        elif not same(key, value, current.get(key)):
            change.set[key] = value
    return change


def same(key: str, want: str, have: Any) -> bool:
    """Whether a config value already means ``want``."""
    if have is None:
        return False
    if key == "tags":
        return set(split_tags(want)) == set(split_tags(have))
    if key == "sshkeys":
        return unquote_keys(want) == unquote_keys(have)
    if key in ("cores", "memory", "sockets", "balloon", "onboot"):
        return to_int(want) == to_int(have)
    if key.startswith("net"):
        return same_nic(want, have)
    if key.startswith(("ipconfig", "cicustom", "agent", "cpu")):
        return parse_props(want, "_") == parse_props(have, "_")
    return str(want) == str(have)


@dataclass(frozen=True)
class DiskWork:
    """Disk changes: new disks to allocate, disks to grow, slots to detach."""

    new: Mapping[str, str]
    grow: Mapping[str, int]
    detach: Sequence[str]


def disk_work(disks: Sequence[DiskSpec], slots: Sequence[str],
              current: Mapping[str, Any], storage_of: Callable[[str | None, int], str],
              detach: Sequence[str] = (), imports: Mapping[int, str] | None = None) -> DiskWork:
    """New disks at slots the guest lacks, growth where the declared size is larger.
    ``storage_of(pool, index)`` is the storage id of declared disk ``index``;
    ``imports[index]`` the image volume (``STORAGE:import/FILE``) a new disk is a copy
    of (``import-from``, sized as the image: a larger ``size:`` is grown after)."""
    have = disks_of(current)
    new: dict[str, str] = {}
    grow: dict[str, int] = {}
    for index, (disk, slot) in enumerate(zip(disks, slots, strict=True)):
        size = disk.size
        if slot not in have:
            storage = storage_of(disk.pool, index)
            source = (imports or {}).get(index)
            new[slot] = format_props({"format": disk.format, "import-from": source},
                                     f"{storage}:{0 if source else gib_text(size or 0)}")
        else:
            now = have[slot].size
            if size is not None and (now is None or size > now):
                grow[slot] = size
    return DiskWork(new, grow, [slot for slot in detach if slot in have])


def assign_slots(disks: Sequence[DiskSpec], kept: Sequence[str] = (),
                 preferred: Sequence[str] = (), busy: Collection[str] = ()) -> list[str]:
    """The slot of each declared disk: its ``slot:``, else the slot it had (``kept``,
    by index), else the next of ``preferred`` (a template's disks, for a clone), else
    the first free one of its bus (``scsi`` by default) not in ``busy``."""
    explicit = {d.slot for d in disks if d.slot}
    used = set(explicit) | set(busy) | set(preferred)
    queue = [slot for slot in preferred if slot not in explicit and slot not in kept]
    slots = []
    for index, disk in enumerate(disks):
        if disk.slot:
            slot = disk.slot
        elif index < len(kept) and kept[index] not in explicit:
            slot = kept[index]
        elif disk.bus is None and queue:
            slot = queue.pop(0)
        else:
            bus = disk.bus or "scsi"
            slot = next(f"{bus}{n}" for n in range(64) if f"{bus}{n}" not in used)
        used.add(slot)
        slots.append(slot)
    return slots
