"""What a guest's NIC declaration means on Parallels, and the arguments that set it. Pure.

Parallels' networks are named by the NIC's ``host_network:``:

- ``shared``: the Shared network (NAT to the Mac's connection; Parallels' default);
- ``host``: the default Host-Only network; ``host:NAME`` a host-only network of
  ``prlsrvctl net list`` (``--type host --iface NAME``);

and ``bridge: en0`` bridges the NIC to a Mac interface (``--type bridged
--iface en0``). NIC N of the spec is Parallels' ``netN``.
"""

from __future__ import annotations

from typing import Any

from provisioner.core.specs import NicSpec
from provisioner.providers.parallels.listing import Nic

KINDS = ("shared", "host")
DEFAULT_HOST_ONLY = "Host-Only"
MODELS = ("e1000", "rtl", "virtio")
"""NIC models (``--adapter-type``); the stack's name is Parallels' own."""
MAX_NICS = 16


def attachment(nic: NicSpec) -> tuple[str, str | None]:
    """(prlctl's --type, its --iface): ``("bridged", "en0")``, ``("shared", None)``."""
    if nic.bridge:
        return "bridged", nic.bridge
    kind, _, target = (nic.host_network or "shared").partition(":")
    return kind, target or None


def host_network_of(nic: Nic) -> str | None:
    if nic.type == "shared":
        return "shared"
    if nic.type == "host":
        return "host" if nic.iface in (None, "", DEFAULT_HOST_ONLY) else f"host:{nic.iface}"
    return None


def live_nic(nic: Nic) -> dict[str, Any]:
    """A NIC as the planner compares it."""
    return {"network": None, "host_network": host_network_of(nic),
            "bridge": nic.iface if nic.type == "bridged" else None,
            "mac": nic.mac, "ip": None, "model": nic.card or None, "vlan": None,
            "firewall": None, "forwards": []}


def type_args(nic: NicSpec) -> list[str]:
    """``--type`` and ``--iface`` of this declaration (for ``--device-add net`` or
    ``--device-set netN``)."""
    kind, target = attachment(nic)
    return ["--type", kind, *(["--iface", target] if target else [])]


def nic_args(nic: NicSpec) -> list[str]:
    """Every argument that gives a NIC this declaration."""
    args = type_args(nic)
    if nic.model:
        args += ["--adapter-type", nic.model]
    if nic.mac:
        args += ["--mac", nic.mac.replace(":", "").upper()]
    return args
