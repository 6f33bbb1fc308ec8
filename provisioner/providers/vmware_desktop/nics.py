"""What a guest's NIC declaration means in a .vmx, and back. Pure.

NIC N of the spec is ``ethernetN``. ``host_network:`` names the virtual network:

- ``nat`` (``connectionType = "nat"``: vmnet8 on Workstation, "Share with my Mac"
  on Fusion), ``hostonly`` (vmnet1), ``bridged`` (vmnet0, the host's network);
- ``vmnetN`` (``connectionType = "custom"``, ``vnet = "vmnetN"``): a network made in
  the Virtual Network Editor (Fusion: ``vmnet-cli``).

``model:`` is the ``virtualDev`` (e1000, e1000e, vmxnet3). A fixed ``mac:`` is
``addressType = "static"`` with ``address``; VMware accepts static MACs only in
00:50:56:00:00:00 - 00:50:56:3F:FF:FF. Without one, ``addressType =
"generated"`` and VMware writes ``generatedAddress`` at the first power-on.
"""

from __future__ import annotations

import re
from typing import Any

from provisioner.core.specs import NicSpec
from provisioner.providers.vmware_desktop.vmx import Vmx

NAMED = {"nat": "nat", "hostonly": "hostonly", "bridged": "bridged"}
VNET = re.compile(r"^vmnet\d{1,3}$")
MODELS = ("e1000", "e1000e", "vmxnet3")
DEFAULT_MODEL = "e1000"
STATIC_MAC = re.compile(r"^00:50:56:[0-3][0-9a-f]:[0-9a-f]{2}:[0-9a-f]{2}$", re.IGNORECASE)
MAX_NICS = 10
HOST_NETWORK_FORMS = "nat, hostonly, bridged or vmnetN (a custom network)"


def valid_host_network(value: str | None) -> bool:
    return value is not None and (value in NAMED or bool(VNET.match(value)))


def nic_entries(index: int, nic: NicSpec) -> dict[str, str]:
    """The ``ethernetN.*`` entries of one NIC."""
    prefix = f"ethernet{index}."
    target = nic.host_network or "nat"
    entries = {prefix + "present": "TRUE", prefix + "virtualDev": nic.model or DEFAULT_MODEL}
    if target in NAMED:
        entries[prefix + "connectionType"] = NAMED[target]
    else:
        entries[prefix + "connectionType"] = "custom"
        entries[prefix + "vnet"] = target
    if nic.mac:
        entries[prefix + "addressType"] = "static"
        entries[prefix + "address"] = nic.mac.lower()
    else:
        entries[prefix + "addressType"] = "generated"
    return entries


def set_nics(vmx: Vmx, nics: list[NicSpec], keep_macs: list[str | None]) -> None:
    """Make the VM's NICs ``nics``: every ``ethernetN.*`` entry rewritten. A NIC that
    declares no MAC keeps the one VMware generated for it (``keep_macs``)."""
    for index in set(nic_indexes(vmx)) | set(range(MAX_NICS)):
        vmx.drop_prefix(f"ethernet{index}.")
    for index, nic in enumerate(nics):
        vmx.update(nic_entries(index, nic))
        kept = keep_macs[index] if index < len(keep_macs) else None
        if not nic.mac and kept:
            vmx[f"ethernet{index}.generatedAddress"] = kept


def nic_indexes(vmx: Vmx) -> list[int]:
    """The N of every present ``ethernetN``, in order."""
    found = {int(m.group(1)) for key in vmx if (m := re.match(r"(?i)^ethernet(\d+)\.present$",
                                                                 key)) and vmx.flag(key)}
    return sorted(found)


def mac_of(vmx: Vmx, index: int) -> str | None:
    prefix = f"ethernet{index}."
    if (vmx.get(prefix + "addressType") or "").lower() == "static":
        mac = vmx.get(prefix + "address")
    else:
        mac = vmx.get(prefix + "generatedAddress")
    return mac.lower() if mac else None


def live_nic(vmx: Vmx, index: int) -> dict[str, Any]:
    """NIC ``ethernetN`` as the planner compares it."""
    prefix = f"ethernet{index}."
    kind = (vmx.get(prefix + "connectionType") or "bridged").lower()
    network = vmx.get(prefix + "vnet") if kind == "custom" else kind
    return {"network": None, "host_network": network, "bridge": None,
            "mac": mac_of(vmx, index), "ip": None,
            "model": (vmx.get(prefix + "virtualDev") or DEFAULT_MODEL).lower(),
            "vlan": None, "firewall": None, "forwards": []}
