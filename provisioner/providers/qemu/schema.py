"""Field rules of the qemu provider: how each field of a guest changes.

QEMU takes vCPUs, memory, devices and boot settings on its command line, so
changing them restarts a running guest (a stopped one just starts with them
next time). A disk grows in place: ``block_resize`` while it runs, ``qemu-img
resize`` while it is stopped. Power is in place.
"""

from __future__ import annotations

from provisioner.providers.base import GROWS, IN_PLACE, REPLACE, RESTART, KindSchema

GUEST_SCHEMA = KindSchema(
    fields={
        "cpus": RESTART,
        "memory": RESTART,
        "power": IN_PLACE,
        "image": REPLACE,
        "disks": RESTART,
        "disks[].size": GROWS,
        "disks[].image": REPLACE,
        "disks[].format": REPLACE,
        "disks[].volume": RESTART,
        "cloud_init": REPLACE,
        "options": RESTART,
        # NICs are on the command line; a NIC's address and MAC reach the guest
        # through its cloud-init network-config, applied to a new instance only
        "networks": RESTART,
        "networks[].ip": REPLACE,
        "networks[].mac": REPLACE,
        # refused at plan time (checks.py): a qemu provider is one host, without a
        # daemon to start guests at boot
        "autostart": IN_PLACE,
        "clone": REPLACE,
        "node": REPLACE,
    },
    attributes=("directory", "serial_log", "state", "pid", "macs"),
)
VOLUME_SCHEMA = KindSchema(
    # grows in place (online in the guest it is attached to: volumes.py)
    fields={"size": GROWS, "format": REPLACE, "pool": REPLACE, "options": IN_PLACE},
    attributes=("path", "format"),
)
NETWORK_SCHEMA = KindSchema(
    # a network is the settings guests' QEMUs start with (networks.py): a new mode or
    # cidr is a new network; dhcp is what user mode always does and private never does
    # (dhcp_range, bridge and domain are refused at plan time: nic_checks.py)
    fields={"mode": REPLACE, "cidr": REPLACE, "dhcp": IN_PLACE, "dhcp_range": REPLACE,
            "bridge": REPLACE, "domain": REPLACE, "options": IN_PLACE},
    attributes=("mode", "multicast"),
)
IMAGE_SCHEMA = KindSchema(
    # a file guests' disks are overlays of: other content is another image
    fields={"checksum": REPLACE, "format": REPLACE, "pool": REPLACE, "options": IN_PLACE},
    attributes=("path", "format"),
)
