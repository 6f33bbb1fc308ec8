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
        "cloud_init": REPLACE,
        "options": RESTART,
        # refused at plan time (checks.py): a qemu provider is one host, without a
        # daemon to start guests at boot; networks come next
        "autostart": IN_PLACE,
        "networks": RESTART,
        "clone": REPLACE,
        "node": REPLACE,
    },
    attributes=("directory", "serial_log", "state", "pid"),
)
