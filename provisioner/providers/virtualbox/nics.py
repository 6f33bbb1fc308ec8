"""What a guest's NIC declaration means on VirtualBox, and the arguments that set it. Pure.

VirtualBox's networks are named by the NIC's ``host_network:``:

- ``nat``: the VM's own NAT engine (outbound access; ``forwards:`` reach the guest);
- ``hostonly:vboxnet0``: a host-only interface (``VBoxManage list hostonlyifs``);
- ``intnet:NAME``: an internal network (VMs with the same name see each other);
- ``natnetwork:NAME``: a NAT network (``VBoxManage list natnets``);

and ``bridge: eth0`` bridges the NIC to a host interface (``list bridgedifs``).
NIC N of the spec is VirtualBox's NIC N+1 (``--nic1``).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from provisioner.core.specs import ForwardSpec, NicSpec
from provisioner.providers.virtualbox.listing import Forward, Nic

KINDS = ("nat", "hostonly", "intnet", "natnetwork")
MODELS = {"e1000": "82540EM", "e1000-server": "82545EM", "e1000-desktop": "82543GC",
          "pcnet": "Am79C973", "pcnet-pci": "Am79C970A", "virtio": "virtio"}
"""NIC model names the stack takes → VirtualBox's NIC types."""
_MODEL_OF = {value: key for key, value in MODELS.items()}
MAX_NICS = 8


def attachment(nic: NicSpec) -> tuple[str, str | None]:
    """(kind, interface or network name): ``("bridged", "eth0")``, ``("nat", None)``."""
    if nic.bridge:
        return "bridged", nic.bridge
    kind, _, target = (nic.host_network or "").partition(":")
    return kind, target or None


def host_network_of(nic: Nic) -> str | None:
    if nic.attachment == "nat":
        return "nat"
    if nic.attachment in KINDS:
        return f"{nic.attachment}:{nic.target}"
    return None


def rule_name(forward: ForwardSpec) -> str:
    return f"{forward.protocol}{forward.host}"


def rule(forward: ForwardSpec) -> str:
    """``name,tcp,host-ip,hostport,guest-ip,guestport`` as natpf takes it."""
    return (f"{rule_name(forward)},{forward.protocol},{forward.address},{forward.host},,"
            f"{forward.guest}")


def declared_ports(networks: Any) -> dict[str, str]:
    """Rule name → the host port as the stack wrote it, for the ports written as text
    (``"222${count.index}"`` resolves to the text ``"2220"``): the marker keeps them,
    so that a port reads back in the form it was declared and a re-plan is clean."""
    found: dict[str, str] = {}
    for nic in networks or ():
        for forward in (nic.get("forwards") or ()) if isinstance(nic, dict) else ():
            if isinstance(forward.get("host"), str):
                spec = ForwardSpec.of(forward)
                found[rule_name(spec)] = forward["host"]
    return found


def forward_of(found: Forward, ports: Mapping[str, str]) -> dict[str, Any]:
    declared = ports.get(found.name)
    host: int | str = declared if declared == str(found.host_port) else found.host_port
    return {"host": host, "guest": found.guest_port, "protocol": found.protocol,
            "address": found.host_ip or "0.0.0.0"}


def live_nic(nic: Nic, ports: Mapping[str, str]) -> dict[str, Any]:
    """A NIC as the planner compares it."""
    return {"network": None, "host_network": host_network_of(nic),
            "bridge": nic.target if nic.attachment == "bridged" else None,
            "mac": nic.mac, "ip": None, "model": _MODEL_OF.get(nic.type, nic.type.lower()),
            "vlan": None, "firewall": None,
            "forwards": [forward_of(found, ports) for found in nic.forwards]}


def set_args(slot: int, nic: NicSpec) -> list[str]:
    """``modifyvm`` arguments giving NIC ``slot`` (1-based) this declaration."""
    kind, target = attachment(nic)
    args = [f"--nic{slot}={kind}"]
    if kind == "bridged":
        args.append(f"--bridge-adapter{slot}={target}")
    elif kind == "hostonly":
        args.append(f"--host-only-adapter{slot}={target}")
    elif kind == "intnet":
        args.append(f"--intnet{slot}={target}")
    elif kind == "natnetwork":
        args.append(f"--nat-network{slot}={target}")
    if nic.model:
        args.append(f"--nic-type{slot}={MODELS[nic.model]}")
    if nic.mac:
        args.append(f"--mac-address{slot}={nic.mac.replace(':', '').upper()}")
    args += [f"--nat-pf{slot}={rule(forward)}" for forward in nic.forwards]
    return args


def live_args(slot: int, nic: NicSpec) -> list[str]:
    """``controlvm`` arguments switching a running VM's NIC ``slot`` to this attachment."""
    kind, target = attachment(nic)
    return [f"nic{slot}", kind, *([target] if target else [])]
