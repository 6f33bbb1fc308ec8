"""stacks/kvm-cluster on two simulated KVM hosts (libvirt's test:/// driver, one node
file each: 8 CPUs/32GiB and 16 CPUs/64GiB, a default pool holding the base image,
a br0 bridge; the driver's pools hold 100GiB whatever the file says, so two
workers): plan, apply, and a plan right after shows no changes; the control
plane lands one per host first, workers one per host, the rest by memory left."""

from __future__ import annotations

import collections
from pathlib import Path

import pytest
from test_apply_libvirt import Recorder

from provisioner.engine import Engine
from provisioner.plan.model import Action
from provisioner.stack.loader import load_stack
from provisioner.stack.variables import VariableInputs
from provisioner.state.local import SQLiteStore

pytestmark = pytest.mark.integration
ROOT = Path(__file__).resolve().parents[2]
NODE = """<node>
  <cpu><mhz>2000</mhz><model>x86</model><active>{cpus}</active><nodes>1</nodes>
    <sockets>1</sockets><cores>{cpus}</cores><threads>1</threads></cpu>
  <memory>{kib}</memory>
  <interface type='bridge' name='br0'><start mode='onboot'/><bridge/></interface>
  <pool type='dir'>
    <name>default</name>
    <capacity unit='GiB'>2000</capacity><available unit='GiB'>2000</available>
    <target><path>/var/lib/libvirt/images</path></target>
    <volume type='file'><name>debian-12</name><capacity unit='GiB'>2</capacity>
      <target><path>/var/lib/libvirt/images/debian-12</path>
        <format type='qcow2'/></target></volume>
  </pool>
</node>
"""


def test_kvm_cluster_example_places_applies_and_replans_clean(tmp_path: Path) -> None:
    uris = []
    for name, cpus, gib in (("a", 8, 32), ("b", 16, 64)):
        node = tmp_path / f"{name}.xml"
        node.write_text(NODE.format(cpus=cpus, kib=gib << 20))
        uris.append(f"test://{node}")
    inputs = VariableInputs(assignments=[f"host_a={uris[0]}", f"host_b={uris[1]}", "workers=2"])
    stack = load_stack(ROOT / "stacks" / "kvm-cluster" / "stack.yaml", inputs)
    with Engine(stack, SQLiteStore(tmp_path / "state.db")) as engine:
        plan = engine.plan()
        placed = {str(c.address): c.provider for c in plan.changes
                  if c.action is Action.CREATE}
        assert len(placed) == 5
        result = engine.apply(plan, Recorder())
        assert result.ok, [r.message for r in result.results if r.message]
        again = engine.plan()
        assert not again.has_changes, [(str(c.address), c.fields) for c in again.changes
                                       if c.action.is_change]
        report = engine.capacity()
    control = [placed[f"guests.control-{i}"] for i in range(3)]
    assert set(control) == {"kvm-a", "kvm-b"}, control
    workers = collections.Counter(placed[f"guests.worker-{i}"] for i in range(2))
    assert workers == {"kvm-a": 1, "kvm-b": 1}, workers  # spread_across
    assert report.fits
    memory = {row.provider: row.memory for row in report.hosts}
    assert memory["kvm-a"].running + memory["kvm-b"].running == (3 * 4 + 2 * 8) << 30
