"""The floor of the libvirt comparison: the same guests made with bare libvirt-python
calls, no tool around them, so that the tools' times can be read against what the
daemon and QEMU themselves take on this machine.

Converge: define and start the network, then for each guest create its volume,
define it and start it, timed in-process (no interpreter start, no planning, no
checks). Sequential on one connection, and spread over 4 threads each with its own
connection. Re-run: a new Python process that connects, lists the domains, and reads
each one's XML: the least any Python tool must do to see that nothing changed.
"""

from __future__ import annotations

import contextlib
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import libvirt

from bench.libvirt_xml import guest_xml, network_xml, volume_xml
from bench.measure import run
from bench.stacks import TinyGuests

URI = "qemu:///system"
THREADS = 4


def _make_guest(conn: libvirt.virConnect, guests: TinyGuests, name: str) -> None:
    pool = conn.storagePoolLookupByName("default")
    pool.createXML(volume_xml(guests, name), 0)
    conn.defineXML(guest_xml(guests, name)).create()


def converge(guests: TinyGuests, threads: int) -> float:
    """Seconds to bring ``guests`` up with bare calls on ``threads`` connections."""
    conns = [libvirt.open(URI) for _ in range(threads)]
    try:
        start = time.perf_counter()
        network = conns[0].networkDefineXML(network_xml(guests))
        network.create()
        with ThreadPoolExecutor(threads) as pool:
            list(pool.map(lambda pair: _make_guest(conns[pair[0] % threads], guests, pair[1]),
                          enumerate(guests.names())))
        return time.perf_counter() - start
    finally:
        for conn in conns:
            with contextlib.suppress(libvirt.libvirtError):
                conn.close()


REREAD = (f"import libvirt; c = libvirt.open({URI!r}); "
          "[d.XMLDesc(0) for d in c.listAllDomains()]; c.listAllNetworks(); c.close()")


def rerun(cwd: Path) -> float:
    """Seconds for a new Python process to connect and read every domain's XML."""
    result = run([sys.executable, "-c", REREAD], cwd=cwd)
    if not result.ok:
        raise RuntimeError(f"the re-read failed: {result.tail()}")
    return result.seconds
