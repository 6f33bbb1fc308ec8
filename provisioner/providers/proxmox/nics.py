"""NICs: ``netN`` property strings of guests and containers, and the stack's NIC shape.

A QEMU NIC reads ``virtio=BC:24:11:00:00:01,bridge=vmbr0,tag=10,firewall=1``
(the model's key carries the MAC); an LXC NIC reads
``name=eth0,bridge=vmbr0,hwaddr=BC:24:11:00:00:01,ip=dhcp,tag=10``. Both come
back with keys in any order. A NIC is written from what the stack declares
on top of what the device has (its MAC, its MTU, ...): a key the stack leaves
unset keeps its value, unless the stack just removed it.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from typing import Any

from provisioner.core.specs import NicSpec
from provisioner.providers.proxmox.props import flag, parse_props, to_bool, to_int

QEMU_MODELS = ("e1000", "e1000-82540em", "e1000-82544gc", "e1000-82545em", "e1000e", "i82551",
               "i82557b", "i82559er", "ne2k_isa", "ne2k_pci", "pcnet", "rtl8139", "virtio",
               "vmxnet3")
_MODEL_KEY = "_model"
FLAGS = ("firewall", "link_down")
"""NIC properties that are booleans: absent means 0 (``firewall=0`` and no ``firewall``
key are one NIC)."""
_MAC_KEYS = frozenset({*QEMU_MODELS, "macaddr", "hwaddr"})


def parse_qemu_nic(value: Any) -> dict[str, str]:
    """A QEMU NIC's properties with the model and MAC split out (``model``, ``macaddr``)."""
    props = parse_props(value, _MODEL_KEY)
    model = props.pop(_MODEL_KEY, None) or props.get("model")
    for key in QEMU_MODELS:
        if key in props:
            model = key
            mac = props.pop(key)
            if mac:
                props["macaddr"] = mac
    if model:
        props["model"] = model
    return props


def format_qemu_nic(props: Mapping[str, str]) -> str:
    """``MODEL=MAC,key=value...`` (the form Proxmox writes)."""
    rest = {k: v for k, v in props.items() if k not in ("model", "macaddr")}
    model = props.get("model") or "virtio"
    head = f"{model}={props['macaddr']}" if props.get("macaddr") else model
    return ",".join([head, *(f"{k}={v}" for k, v in sorted(rest.items()))])


def format_lxc_nic(props: Mapping[str, str]) -> str:
    keys = ["name", *sorted(k for k in props if k != "name")]
    return ",".join(f"{k}={props[k]}" for k in keys if k in props)


def same_nic(want: Any, have: Any) -> bool:
    """Whether two ``netN`` values mean one NIC: keys in any order, MACs in any case, a
    flag at 0 as if it were absent."""
    return _meaning(want) == _meaning(have)


def _meaning(value: Any) -> dict[str, str]:
    props = parse_props(value, _MODEL_KEY)
    return {key: text.upper() if key in _MAC_KEYS else text for key, text in props.items()
            if not (key in FLAGS and not to_bool(text))}


def macs_of(config: Mapping[str, Any]) -> list[str]:
    """The MACs of a guest's or a container's NICs (``netN``), lower case."""
    macs = []
    for key, value in sorted(config.items()):
        if key.startswith("net") and key[3:].isdigit():
            props = parse_props(value, _MODEL_KEY)
            macs += [mac.lower() for prop, mac in props.items() if prop in _MAC_KEYS and mac]
    return macs


def read_nic(props: Mapping[str, str], applied: Mapping[str, Any] | None,
             mac_key: str) -> dict[str, Any]:
    """The stack's NIC shape. The bridge is reported as ``host_network`` when the stack
    named it so (an SDN VNet is a bridge too)."""
    bridge = props.get("bridge")
    as_host_network = bool(applied and applied.get("host_network"))
    mac = props.get(mac_key)
    return {
        "network": None,
        "host_network": bridge if as_host_network else None,
        "bridge": None if as_host_network else bridge,
        "mac": mac.lower() if mac else None,
        "ip": None,
        "model": props.get("model"),
        "vlan": to_int(props.get("tag")),
        "firewall": bool(to_bool(props.get("firewall"))),
    }


def write_nic(nic: NicSpec, current: Mapping[str, str], path: str,
              changed: Collection[str] | None, mac_key: str) -> dict[str, str]:
    """The NIC's properties: ``current`` with what ``nic`` declares. A key the stack
    leaves unset is kept, unless ``path.KEY`` is in ``changed`` (the stack removed it);
    ``changed=None`` is a new NIC."""
    props = dict(current)

    def removed(key: str) -> bool:
        return changed is not None and (f"{path}.{key}" in changed or path in changed)

    def put(prop: str, value: str | None, key: str) -> None:
        if value is not None:
            props[prop] = value
        elif removed(key):
            props.pop(prop, None)

    bridge = nic.bridge or nic.host_network
    if bridge:
        props["bridge"] = bridge
    put(mac_key, nic.mac.upper() if nic.mac else None, "mac")
    put("tag", None if nic.vlan is None else str(nic.vlan), "vlan")
    if nic.firewall or "firewall" in props:  # off and absent mean the same: add nothing
        put("firewall", None if nic.firewall is None else flag(nic.firewall), "firewall")
    if mac_key == "macaddr":
        put("model", nic.model, "model")
    return props
