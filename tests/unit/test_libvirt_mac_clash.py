"""A fixed MAC that a domain outside the stack has on the same host is refused by the
plan, on libvirt's in-process test driver (issue 11, defect 4).

The host (a private ``test:///.../node.xml``) holds an untagged domain ``legacy`` and
a domain ``db`` of the stack ``other``, each with one NIC. The check reads the
definitions the listing reads anyway: a plan that fixes MACs makes no more calls.
"""

from __future__ import annotations

import textwrap
from collections.abc import Iterator
from pathlib import Path

import libvirt
import pytest
from support.libvirt_node import node_uri, write_stack

from provisioner.apply.progress import CollectingProgress as Recorder
from provisioner.core.address import Address, Kind
from provisioner.engine import Engine
from provisioner.errors import PlanError
from provisioner.plan.model import Action
from provisioner.providers.libvirt.ownership import Ownership
from provisioner.stack.loader import load_stack
from provisioner.state.local import SQLiteStore

UNTAGGED_MAC = "52:54:00:aa:00:01"
OTHER_STACKS_MAC = "52:54:00:aa:00:02"
FREE_MAC = "52:54:00:aa:00:03"
NETWORK = """<network><name>default</name><bridge name='virbr0'/><forward mode='nat'/>
  <ip address='192.168.122.1' netmask='255.255.255.0'/></network>"""
DOMAIN = """<domain type='test'><name>{name}</name><memory unit='MiB'>128</memory>
  <os><type>hvm</type></os>{metadata}
  <devices><interface type='network'><mac address='{mac}'/><source network='default'/>
  </interface></devices></domain>"""
STACK = """\
    apiVersion: provisioner/v1
    stack: lab
    providers:
      kvm: {{ type: libvirt, uri: "{uri}", pool: default }}
    guests:
      app:
        provider: kvm
        cpus: 1
        memory: {memory}
        disks: [ {{ size: 1GiB }} ]
        networks: [ {{ host_network: default{mac} }} ]
    """
TAKEN = ("guests.app: networks[0].mac {mac} is already used by VM '{name}' ({owner})\n"
         "  hint: choose another MAC, or leave mac: out to have one generated")


@pytest.fixture
def uri(tmp_path: Path) -> str:
    """A host with the network ``default`` and the domains ``legacy`` and ``db``."""
    uri = node_uri(tmp_path)
    node = Path(uri.removeprefix("test://"))
    tag = Ownership("other", "kvm").tag(Address(Kind.GUEST, "db"), {})
    domains = [DOMAIN.format(name="legacy", metadata="", mac=UNTAGGED_MAC),
               DOMAIN.format(name="db", metadata=f"<metadata>{tag}</metadata>",
                             mac=OTHER_STACKS_MAC)]
    node.write_text(node.read_text().replace("</node>", "\n".join([NETWORK, *domains,
                                                                     "</node>"])))
    return uri


@pytest.fixture
def conn(uri: str) -> Iterator[libvirt.virConnect]:
    """The host's one connection: every open() of a test:/// file is another world."""
    conn = libvirt.open(uri)
    yield conn
    conn.close()


def _engine(directory: Path, conn: libvirt.virConnect, mac: str | None = None,
            memory: str = "128MiB") -> Engine:
    """An engine on the host for the stack with ``app`` fixing ``mac`` (or none)."""
    text = STACK.format(uri=conn.getURI(), memory=memory, mac=f", mac: {mac}" if mac else "")
    stack = load_stack(write_stack(directory, textwrap.dedent(text)))
    engine = Engine(stack, SQLiteStore(directory / "state.db"))
    engine.providers()["kvm"].client.share(conn)  # type: ignore[attr-defined]
    return engine


def _refused(directory: Path, conn: libvirt.virConnect, mac: str) -> str:
    with _engine(directory, conn, mac) as engine, pytest.raises(PlanError) as refused:
        engine.plan()
    return str(refused.value)


def test_a_fixed_mac_an_untagged_domain_has_is_refused(tmp_path: Path,
                                                      conn: libvirt.virConnect) -> None:
    message = _refused(tmp_path, conn, UNTAGGED_MAC)
    assert TAKEN.format(mac=UNTAGGED_MAC, name="legacy", owner="untagged") in message


def test_a_fixed_mac_another_stacks_domain_has_is_refused(tmp_path: Path,
                                                         conn: libvirt.virConnect) -> None:
    message = _refused(tmp_path, conn, OTHER_STACKS_MAC)
    assert TAKEN.format(mac=OTHER_STACKS_MAC, name="db", owner="stack other") in message


def test_a_guest_keeps_its_own_fixed_mac(tmp_path: Path, conn: libvirt.virConnect) -> None:
    with _engine(tmp_path, conn, FREE_MAC) as engine:
        result = engine.apply(engine.plan(), Recorder())
        assert result.ok, [r.message for r in result.results]
    (made,) = [d for d in conn.listAllDomains() if d.name() not in ("legacy", "db")]
    assert f"<mac address='{FREE_MAC}'/>" in made.XMLDesc(0)
    with _engine(tmp_path, conn, FREE_MAC, memory="256MiB") as engine:
        plan = engine.plan()
    assert {str(c.address): c.action for c in plan.changes} == {"guests.app": Action.UPDATE}


def test_fixed_macs_cost_no_further_call(tmp_path: Path, conn: libvirt.virConnect) -> None:
    calls = []
    for mac in (None, FREE_MAC):
        with _engine(tmp_path, conn, mac) as engine:
            assert engine.plan().has_changes
            (report,) = engine.stats()
            calls.append(report.calls)
    assert calls[0] == calls[1]
