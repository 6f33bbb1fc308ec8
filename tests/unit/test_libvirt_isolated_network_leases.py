"""libvirt's test driver dies (SIGSEGV) when asked for the addresses of a guest on
a network without an address; a stack with such a network (the quickstart's
driver) must apply and plan. Run in a child process: the crash would end pytest."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

CHILD = """
from pathlib import Path
from provisioner.engine import Engine
from provisioner.stack.loader import load_stack

class Quiet:
    def started(self, step): ...
    def finished(self, result): ...

with Engine(load_stack(Path({stack!r}), environ={{}})) as engine:
    assert engine.apply(engine.plan(), Quiet()).ok
    live = {{str(c.address): c.action.value for c in engine.plan().changes}}
    print(live)
"""


def test_a_guest_on_an_isolated_network_without_a_cidr_applies(tmp_path: Path) -> None:
    (tmp_path / "stack.yaml").write_text(textwrap.dedent("""\
        apiVersion: provisioner/v1
        stack: iso
        providers:
          kvm: {type: libvirt, uri: "test:///default"}
        networks:
          iso: {provider: kvm, mode: isolated}
        guests:
          web: {provider: kvm, memory: 128MiB, networks: [{network: iso}]}
        """))
    child = subprocess.run([sys.executable, "-c", CHILD.format(stack=str(tmp_path))],
                           capture_output=True, text=True, timeout=60, check=False)
    assert child.returncode == 0, child.stderr[-2000:]
    assert child.stdout.strip() == "{'networks.iso': 'no-op', 'guests.web': 'no-op'}"
