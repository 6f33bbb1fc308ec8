"""A VM's settings: vCPUs, memory, boot, platform, xenstore data, tags, notes, autostart.

Memory: ``memory`` is what the guest gets (``memory_dynamic_max``); without
options the four XAPI limits are ``static_min <= dynamic_min = dynamic_max =
static_max = memory`` (static_min is the template's, lowered when memory is
below it). ``options.memory_max`` raises ``static_max`` (memory may then change
live up to it, ``VM.set_memory_dynamic_range``) and ``options.memory_min``
lowers ``dynamic_min`` (ballooning). vCPUs: ``VCPUs_at_startup`` is ``cpus``,
``VCPUs_max`` is ``options.cpus_max`` or ``cpus``; both change only while the VM is
halted, in the order XAPI accepts (at_startup never above max).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from provisioner.core.specs import GuestSpec
from provisioner.providers.xenserver import GuestOptions
from provisioner.providers.xenserver.client import NULL_REF, XapiClient, xint
from provisioner.providers.xenserver.facts import number
from provisioner.providers.xenserver.ownership import TAG_PREFIX, stack_tag
from provisioner.providers.xenserver.read import AUTOSTART_KEY

SCRATCH_PLATFORM = {"acpi": "1", "apic": "true", "pae": "true", "nx": "true",
                    "viridian": "false", "device-model": "qemu-upstream-compat"}
"""The platform flags of a guest made without a template (XAPI's HVM defaults)."""


def memory_limits(guest: GuestSpec, options: GuestOptions,
                  static_min: int) -> tuple[int, int, int, int]:
    """(static_min, static_max, dynamic_min, dynamic_max) for the guest."""
    dynamic_max = guest.memory
    static_max = max(options.memory_max or dynamic_max, dynamic_max)
    dynamic_min = min(options.memory_min or dynamic_max, dynamic_max)
    return min(static_min or dynamic_min, dynamic_min), static_max, dynamic_min, dynamic_max


def boot_params(options: GuestOptions, current: Mapping[str, Any]) -> dict[str, str]:
    params = {str(key): str(value) for key, value in current.items()}
    if options.boot_order is not None:
        params["order"] = options.boot_order
    if options.firmware is not None:
        params["firmware"] = options.firmware
    return params


def scratch_record(name: str, guest: GuestSpec, options: GuestOptions, marker: str,
                   affinity: str | None) -> dict[str, Any]:
    """The record ``VM.create`` takes for an HVM guest without a template."""
    static_min, static_max, dynamic_min, dynamic_max = memory_limits(guest, options, 0)
    cpus_max = max(options.cpus_max or guest.cpus, guest.cpus)
    return {
        "name_label": name, "name_description": options.description, "user_version": "1",
        "is_a_template": False, "affinity": affinity or NULL_REF,
        "memory_static_min": xint(static_min), "memory_static_max": xint(static_max),
        "memory_dynamic_min": xint(dynamic_min), "memory_dynamic_max": xint(dynamic_max),
        "VCPUs_params": {}, "VCPUs_max": xint(cpus_max), "VCPUs_at_startup": xint(guest.cpus),
        "actions_after_shutdown": "destroy", "actions_after_reboot": "restart",
        "actions_after_crash": "restart", "PV_bootloader": "", "PV_kernel": "",
        "PV_ramdisk": "", "PV_args": "", "PV_bootloader_args": "", "PV_legacy_args": "",
        "HVM_boot_policy": "BIOS order",
        "HVM_boot_params": {"order": options.boot_order or "cdn",
                            "firmware": options.firmware or "bios"},
        "platform": {**SCRATCH_PLATFORM, **options.platform}, "PCI_bus": "",
        "other_config": {}, "recommendations": "",
        "xenstore_data": dict(options.xenstore_data), "tags": [],
    }


class Settings:
    """Writes a VM's settings, each only when it differs from the record."""

    def __init__(self, client: XapiClient) -> None:
        self.client = client

    def put_other(self, ref: str, key: str, value: str, what: str) -> None:
        """Set one ``other_config`` key (XAPI refuses to add a key that exists)."""
        self.client.call("VM.remove_from_other_config", ref, key, what=what)
        self.client.call("VM.add_to_other_config", ref, key, value, what=what)

    def write(self, ref: str, guest: GuestSpec, options: GuestOptions,
              record: Mapping[str, Any], affinity: str | None, what: str) -> None:
        """Every setting, on a halted VM (a create)."""
        self.vcpus(ref, guest, options, record, what)
        self.memory(ref, guest, options, record, what, live=False)
        self.boot(ref, options, record, what)
        self.notes(ref, options, record, what)
        self.autostart(ref, guest.autostart, record, what)
        self.affinity(ref, affinity, record, what)

    def vcpus(self, ref: str, guest: GuestSpec, options: GuestOptions,
              record: Mapping[str, Any], what: str) -> None:
        cpus_max = max(options.cpus_max or guest.cpus, guest.cpus)
        now_max = number(record.get("VCPUs_max"), 1)
        now_start = number(record.get("VCPUs_at_startup"), 1)
        if (cpus_max, guest.cpus) == (now_max, now_start):
            return
        if guest.cpus <= now_max:  # lower or keep at_startup first, then max
            self._set("VCPUs_at_startup", ref, guest.cpus, now_start, what)
            self._set("VCPUs_max", ref, cpus_max, now_max, what)
        else:
            self._set("VCPUs_max", ref, cpus_max, now_max, what)
            self._set("VCPUs_at_startup", ref, guest.cpus, now_start, what)

    def _set(self, field: str, ref: str, value: int, now: int, what: str) -> None:
        if value != now:
            self.client.call(f"VM.set_{field}", ref, xint(value), what=what)

    def memory(self, ref: str, guest: GuestSpec, options: GuestOptions,
               record: Mapping[str, Any], what: str, *, live: bool) -> None:
        """The memory limits; ``live``: only the dynamic range (the VM runs)."""
        limits = memory_limits(guest, options, number(record.get("memory_static_min")))
        if live:
            self.client.call("VM.set_memory_dynamic_range", ref, xint(limits[2]),
                             xint(limits[3]), what=what)
            return
        now = tuple(number(record.get(f"memory_{key}")) for key in
                    ("static_min", "static_max", "dynamic_min", "dynamic_max"))
        if now != limits:
            self.client.call("VM.set_memory_limits", ref, *(xint(v) for v in limits),
                             what=what)

    def boot(self, ref: str, options: GuestOptions, record: Mapping[str, Any],
             what: str) -> None:
        """Boot order, firmware, platform flags and xenstore data."""
        params = boot_params(options, record.get("HVM_boot_params") or {})
        if params != dict(record.get("HVM_boot_params") or {}):
            self.client.call("VM.set_HVM_boot_params", ref, params, what=what)
        platform = {**dict(record.get("platform") or {}), **options.platform}
        if platform != dict(record.get("platform") or {}):
            self.client.call("VM.set_platform", ref, platform, what=what)
        self.xenstore(ref, options, record, what)

    def xenstore(self, ref: str, options: GuestOptions, record: Mapping[str, Any],
                 what: str) -> None:
        now = dict(record.get("xenstore_data") or {})
        kept = {key: value for key, value in now.items() if not key.startswith("vm-data/")}
        wanted = {**kept, **options.xenstore_data}
        if wanted != now:
            self.client.call("VM.set_xenstore_data", ref, wanted, what=what)

    def notes(self, ref: str, options: GuestOptions, record: Mapping[str, Any],
              what: str) -> None:
        """Description and tags (the stack's own tag kept)."""
        if options.description != str(record.get("name_description", "")):
            self.client.call("VM.set_name_description", ref, options.description, what=what)
        now = sorted(str(tag) for tag in record.get("tags") or ())
        ours = [tag for tag in now if tag.startswith(TAG_PREFIX)]
        wanted = sorted({*options.tags, *ours})
        if wanted != now:
            self.client.call("VM.set_tags", ref, wanted, what=what)

    def tag(self, ref: str, stack: str, what: str) -> None:
        self.client.call("VM.add_tags", ref, stack_tag(stack), what=what)

    def autostart(self, ref: str, autostart: bool, record: Mapping[str, Any],
                  what: str) -> None:
        now = str((record.get("other_config") or {}).get(AUTOSTART_KEY, "false")) == "true"
        if autostart and not now:
            self.put_other(ref, AUTOSTART_KEY, "true", what)
        elif not autostart and now:
            self.client.call("VM.remove_from_other_config", ref, AUTOSTART_KEY, what=what)

    def affinity(self, ref: str, host: str | None, record: Mapping[str, Any],
                 what: str) -> None:
        wanted = host or NULL_REF
        if str(record.get("affinity") or NULL_REF) != wanted:
            self.client.call("VM.set_affinity", ref, wanted, what=what)
