"""Plan-time checks of what guests name in the pool, against the last bulk read. Pure.

Templates, SRs, networks (by name or bridge) and hosts must exist (the
problem lists those that do, or the closest name); what XAPI cannot hold is
refused at its field (a managed ``network:``, per-NIC models, VLANs and
firewalls, disks from images or volumes, a disk smaller than the template's);
memory and vCPU settings must satisfy XAPI's constraints
(``memory_min <= memory <= memory_max``, ``cpus <= cpus_max``), which XAPI would
otherwise refuse half-way through an apply (``MEMORY_CONSTRAINT_VIOLATION``).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from provisioner.core.problems import Problem
from provisioner.core.resources import Resource
from provisioner.core.specs import GuestSpec
from provisioner.providers.xenserver import GuestOptions, XenServerConfig
from provisioner.providers.xenserver.capacity import AUTO, template_sizes
from provisioner.providers.xenserver.facts import Pool
from provisioner.stack.interpolate import did_you_mean
from provisioner.units import approx_size

UNSUPPORTED_NIC = {"vlan": "a VLAN is a network of its own on XAPI: name that network",
                   "model": "XAPI gives every NIC the same emulated and PV device",
                   "ip": "set addresses with cloud-init network_config",
                   "firewall": "XAPI has no per-NIC firewall"}
UNSUPPORTED_DISK = {"image": "images are not imported on XenServer yet: use clone: TEMPLATE",
                    "volume": "volumes are not managed on XenServer yet",
                    "format": "XAPI picks the format of its SR (VHD or QCOW2)",
                    "bus": "XAPI attaches every disk the same way",
                    "slot": "XAPI numbers disks itself"}


class _Refuse(Protocol):
    def __call__(self, path: str, summary: str, hint: str = "") -> None: ...


def plan_checks(resources: Sequence[Resource], settings: XenServerConfig,
                pool: Pool, provider: str) -> list[Problem]:
    problems: list[Problem] = []
    srs = set(pool.srs())
    if settings.sr is not None and settings.sr not in srs:
        problems.append(Problem(f"'{settings.sr}': no such SR in the pool",
                                path=f"providers.{provider}.sr",
                                hint=did_you_mean(settings.sr, srs)))
    for resource in resources:
        problems += guest_problems(resource, pool)
    return problems


def guest_problems(resource: Resource, pool: Pool) -> list[Problem]:
    guest = GuestSpec.of(resource.spec)
    address = resource.address
    found: list[Problem] = []

    def refuse(path: str, summary: str, hint: str = "") -> None:
        found.append(Problem(summary, address, path, hint=hint))

    if guest.image:
        refuse("image", "XenServer guests are made from templates",
               "name a template with clone: instead")
    if guest.clone and guest.clone not in pool.templates():
        refuse("clone", f"'{guest.clone}': no such template in the pool",
               did_you_mean(guest.clone, set(pool.templates())))
    if guest.node and guest.node != AUTO and guest.node not in pool.hosts():
        refuse("node", f"'{guest.node}': no such host in the pool",
               did_you_mean(guest.node, set(pool.hosts())))
    if resource.settings.get("wait_for"):
        refuse("wait_for", "is not supported by the xenserver provider yet: a guest's "
               "address comes from its guest tools (VM_guest_metrics), not read yet",
               "drop wait_for; reach the guest by the address your DHCP server gives it")
    _disk_problems(guest, pool, refuse)
    _nic_problems(guest, pool, refuse)
    _limit_problems(guest, refuse)
    return found


def _disk_problems(guest: GuestSpec, pool: Pool, refuse: _Refuse) -> None:
    srs_by_name = pool.srs()
    srs = set(srs_by_name)
    isos = {str(sr.get("name_label")) for sr in pool.of("SR").values()
            if sr.get("content_type") == "iso"}
    local: dict[str, int] = {}
    sizes = template_sizes(pool, guest.clone)
    for index, disk in enumerate(guest.disks):
        for key, why in UNSUPPORTED_DISK.items():
            if getattr(disk, key) is not None:
                refuse(f"disks[{index}].{key}", "is not supported by the xenserver provider",
                       why)
        if disk.pool and disk.pool in isos:
            refuse(f"disks[{index}].pool", f"'{disk.pool}' is an ISO library, which holds no "
                   "disks", "name an SR of virtual disks: " + ", ".join(sorted(srs)))
        elif disk.pool and disk.pool not in srs:
            refuse(f"disks[{index}].pool", f"'{disk.pool}': no such SR in the pool",
                   did_you_mean(disk.pool, srs))
        elif disk.pool and (host := pool.sr_host(srs_by_name[disk.pool])) is not None:
            local.setdefault(host, index)
            if guest.node and guest.node not in (AUTO, host):
                refuse(f"disks[{index}].pool", f"'{disk.pool}' is local to host {host}, but "
                       f"the guest runs on {guest.node} (node)",
                       f"set node: {host}, or put the disk on a shared SR")
        if index < len(sizes) and disk.size is not None and disk.size < sizes[index][1]:
            refuse(f"disks[{index}].size", f"is smaller than the template's disk "
                   f"({approx_size(sizes[index][1])}); a disk cannot shrink",
                   f"give it at least {approx_size(sizes[index][1])}")
    if len(local) > 1:
        hosts = sorted(local)
        refuse(f"disks[{local[hosts[1]]}].pool", f"is local to host {hosts[1]}, another disk "
               f"to host {hosts[0]}: no host can run the guest",
               "put the disks on one host's SR, or on a shared SR")


def _nic_problems(guest: GuestSpec, pool: Pool, refuse: _Refuse) -> None:
    names, bridges = set(pool.networks()), set(pool.bridges())
    for index, nic in enumerate(guest.networks):
        path = f"networks[{index}]"
        if nic.network:
            refuse(f"{path}.network", "the xenserver provider manages no networks",
                   "name an existing network with host_network: NAME")
        elif nic.host_network and nic.host_network not in names:
            refuse(f"{path}.host_network", f"'{nic.host_network}': no such network in the pool",
                   did_you_mean(nic.host_network, names))
        elif nic.bridge and nic.bridge not in bridges:
            refuse(f"{path}.bridge", f"'{nic.bridge}': no network of the pool has this bridge",
                   did_you_mean(nic.bridge, bridges))
        for key, why in UNSUPPORTED_NIC.items():
            if getattr(nic, key) is not None:
                refuse(f"{path}.{key}", "is not supported by the xenserver provider", why)


def _limit_problems(guest: GuestSpec, refuse: _Refuse) -> None:
    options = guest.options_as(GuestOptions)
    if options.memory_max is not None and options.memory_max < guest.memory:
        refuse("options.memory_max", f"is below memory ({approx_size(guest.memory)}); XAPI "
               "needs memory_max >= memory", "raise memory_max, or drop it")
    if options.memory_min is not None and options.memory_min > guest.memory:
        refuse("options.memory_min", f"is above memory ({approx_size(guest.memory)}); XAPI "
               "needs memory_min <= memory", "lower memory_min, or drop it")
    if options.cpus_max is not None and options.cpus_max < guest.cpus:
        refuse("options.cpus_max", f"is below cpus ({guest.cpus})", "raise cpus_max")
