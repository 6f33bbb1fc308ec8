"""Stack files of the benchmarks, as text: every benchmark writes its own directory.

The same guest definitions serve every tool of a comparison: ``peers_*`` modules
render these values into Ansible playbooks and kcli plans.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

SIM_POOL = "default-pool"
"""The storage pool of libvirt's test:///default driver."""



def header(stack: str, providers: Mapping[str, str]) -> str:
    lines = ["apiVersion: provisioner/v1", f"stack: {stack}", "providers:"]
    lines += [f"  {name}: {block}" for name, block in providers.items()]
    return "\n".join(lines) + "\n"


def flow(values: Mapping[str, Any]) -> str:
    """A YAML flow mapping (JSON is YAML; keys stay bare for readability)."""
    return "{ " + ", ".join(f"{k}: {json.dumps(v)}" for k, v in values.items()) + " }"


def write(directory: Path, text: str) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / "stack.yaml"
    path.write_text(text, encoding="utf-8")
    return path


# ---------------------------------------------------------------- plan scaling

def libvirt_scale(uri: str, count: int) -> str:
    """``count`` running guests, each with a disk and a NIC on the stack's network."""
    block = flow({"type": "libvirt", "uri": uri, "pool": SIM_POOL, "domain_type": "qemu"})
    return header("scale", {"sim": block}) + f"""networks:
  lab: {{ provider: sim, mode: nat, cidr: 10.50.0.0/16 }}
guests:
  g:
    provider: sim
    count: {count}
    cpus: 1
    memory: 64MiB
    disks: [ {{ size: 4MiB }} ]
    networks: [ {{ network: lab }} ]
"""


# ----------------------------------------------------------- apply parallelism

GUESTS_THAT_BOOT_NOTHING = {"cpu_overcommit": 64}
"""The plan-time capacity check of these stacks: their guests idle in SeaBIOS, so 100
one-vCPU guests on 2 cores are fine; the default overcommit (4) would refuse them."""

@dataclass(frozen=True)
class Shape:
    """A graph of guests: ``width`` chains of ``depth`` guests, each waiting for the
    one before it (depth 1: independent guests)."""

    name: str
    width: int
    depth: int

    @property
    def guests(self) -> int:
        return self.width * self.depth


INDEPENDENT = Shape("100 independent guests", 100, 1)
CHAINS = Shape("chains: depth 5, width 20", 20, 5)


def shaped_guests(shape: Shape, provider: str, body: Mapping[str, str]) -> str:
    """``guests:`` of a shape; ``body`` holds the other keys of each guest (YAML)."""
    lines = ["guests:"]
    for chain in range(shape.width):
        for link in range(shape.depth):
            name = f"c{chain}-{link}" if shape.depth > 1 else f"g{chain}"
            lines.append(f"  {name}:")
            lines.append(f"    provider: {provider}")
            lines += [f"    {key}: {value}" for key, value in body.items()]
            if link:
                lines.append(f"    depends_on: [guests.c{chain}-{link - 1}]")
    return "\n".join(lines) + "\n"


def libvirt_apply(uri: str, shape: Shape, parallel: int) -> str:
    """Guests that start (QEMU runs) but boot nothing: no kernel, a blank disk. SeaBIOS
    finds no boot device and waits, so 100 of them do not load 2 cores the way 100
    booting kernels would, while each create still starts a real QEMU."""
    block = flow({"type": "libvirt", "uri": uri, "max_parallel": parallel,
                  "pool_parallel": parallel, "domain_type": "qemu",
                  "capacity": GUESTS_THAT_BOOT_NOTHING})
    return header("bench-apply", {"kvm": block}) + """networks:
  net: { provider: kvm, mode: isolated, cidr: 10.94.0.0/16 }
""" + shaped_guests(shape, "kvm", {
        "cpus": "1", "memory": "32MiB", "disks": "[ { size: 64MiB } ]",
        "networks": "[ { network: net } ]"})


# --------------------------------------------------------------------- Proxmox

def proxmox_block(endpoint: str, token_id: str, token_env: str, ca_file: str,
                  parallel: int = 16) -> str:
    return flow({"type": "proxmox", "endpoint": endpoint, "token_id": token_id,
                 "token_secret": f"${{env.{token_env}}}", "ca_file": ca_file,
                 "nodes": ["pve1"], "storage": "local-lvm", "vmid_range": "1000-9999",
                 "max_parallel": parallel, "node_parallel": parallel,
                 "storage_parallel": parallel, "read_parallel": 8, "retry_timeout": 60,
                 "capacity": SIMULATED_NODE})


SIMULATED_NODE = {"cpu_overcommit": 64}
"""fakepve's node has 64 CPUs: 2,000 one-vCPU guests need 32x (the default is 4x)."""

PVE_GUEST = {"node": "pve1", "clone": "debian-12", "cpus": "1", "memory": "64MiB",
             "disks": "[ { size: 4GiB } ]", "networks": "[ { bridge: vmbr0 } ]"}


def proxmox_fleet(block: str, count: int, stack: str = "fleet", name: str = "vm") -> str:
    """``count`` guests cloned from the template debian-12, grown and started."""
    body = "\n".join(f"    {k}: {v}" for k, v in PVE_GUEST.items())
    return header(stack, {"pve": block}) + f"""guests:
  {name}:
    provider: pve
    count: {count}
{body}
"""


def proxmox_apply(block: str, shape: Shape) -> str:
    return header("bench-apply", {"pve": block}) + shaped_guests(shape, "pve", PVE_GUEST)


# ----------------------------------------------------------- side by side

@dataclass(frozen=True)
class TinyGuests:
    """The guests every tool brings up in the libvirt comparison: they boot nothing
    (SeaBIOS and a blank disk), the same with every tool."""

    prefix: str
    network: str
    cidr: str
    count: int = 10
    memory_mib: int = 128
    disk_mib: int = 256

    def names(self) -> list[str]:
        return [f"{self.prefix}-{index}" for index in range(self.count)]


def qemu_peers(guests: TinyGuests, directory: Path) -> str:
    """The same guests with the qemu provider (no libvirtd): a user-mode NAT network."""
    block = flow({"type": "qemu", "dir": str(directory), "accel": "tcg",
                  "capacity": GUESTS_THAT_BOOT_NOTHING})
    return _peers(guests, block, "user")


def libvirt_peers(guests: TinyGuests, uri: str = "qemu:///system") -> str:
    block = flow({"type": "libvirt", "uri": uri, "domain_type": "qemu",
                  "capacity": GUESTS_THAT_BOOT_NOTHING})
    return _peers(guests, block, "nat")


def _peers(guests: TinyGuests, block: str, mode: str) -> str:
    """The peers' guests on one provider block ``local`` and a network of ``mode``."""
    return header(guests.prefix, {"local": block}) + f"""networks:
  {guests.network}: {{ provider: local, mode: {mode}, cidr: {guests.cidr} }}
guests:
  {guests.prefix}:
    provider: local
    count: {guests.count}
    cpus: 1
    memory: {guests.memory_mib}MiB
    disks: [ {{ size: {guests.disk_mib}MiB }} ]
    networks: [ {{ network: {guests.network} }} ]
"""
