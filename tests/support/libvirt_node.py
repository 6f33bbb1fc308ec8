"""Private libvirt test:/// hypervisors for isolated tests.

``test:///ABS/PATH/node.xml`` starts libvirt's in-process test driver from
that file, and every ``open()`` gets a private copy: one provider instance
(one connection) sees one consistent hypervisor; nothing leaks between tests.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

NODE_XML = """<node>
  <cpu><mhz>2000</mhz><model>x86</model><active>{cpus}</active><nodes>1</nodes>
    <sockets>1</sockets><cores>{cpus}</cores><threads>1</threads></cpu>
  <memory>{memory_kib}</memory>
{pools}
</node>
"""
POOL_XML = """  <pool type='dir'>
    <name>{name}</name>
    <capacity unit='GiB'>{gib}</capacity>
    <available unit='GiB'>{gib}</available>
    <target><path>/{name}</path></target>
  </pool>"""


def node_uri(directory: Path, pools: tuple[str, ...] = ("default",), cpus: int = 8,
             memory_gib: int = 32, pool_gib: int = 500) -> str:
    """Write a node file into ``directory`` and return its ``test:///`` URI."""
    pool_xml = "\n".join(POOL_XML.format(name=name, gib=pool_gib) for name in pools)
    path = directory / "node.xml"
    path.write_text(NODE_XML.format(cpus=cpus, memory_kib=memory_gib * 1024 * 1024,
                                    pools=pool_xml))
    return f"test://{path.resolve()}"


def write_stack(directory: Path, text: str, name: str = "stack.yaml") -> Path:
    """Write a stack file (dedented by the caller) and return its path."""
    path = directory / name
    path.write_text(text)
    return path


def snapshot_node(conn: Any, node_file: Path) -> None:
    """Rewrite ``node_file`` with everything ``conn`` holds now (domains, networks,
    pools with their volumes), so that a new process opening the same URI starts
    from this state: how tests carry a hypervisor across processes."""
    body = node_file.read_text().split("<node>", 1)[1]
    head = re.split(r"<(?:pool|domain|network)\b", body, maxsplit=1)[0]  # cpu and memory only

    parts = ["<node>", head]
    parts += [domain.XMLDesc(0) for domain in conn.listAllDomains()]
    parts += [network.XMLDesc(0) for network in conn.listAllNetworks()]
    for pool in conn.listAllStoragePools():
        volumes = "".join(volume.XMLDesc(0) for volume in pool.listAllVolumes())
        parts.append(pool.XMLDesc(0).replace("</pool>", volumes + "</pool>"))
    parts.append("</node>")
    node_file.write_text("\n".join(parts))
