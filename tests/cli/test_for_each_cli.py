"""for_each through the console script, on libvirt's test driver: apply three
workers, remove the middle key, and the next plan deletes that one only.

The hypervisor is carried from the in-process apply to the CLI's processes by
snapshotting the test driver into its node file (support/libvirt_node.py)."""

from __future__ import annotations

import json
import shutil
import subprocess
import textwrap
from pathlib import Path

from support.libvirt_node import node_uri, snapshot_node, write_stack

from provisioner.engine import Engine
from provisioner.stack.loader import load_stack

PROVISIONER = shutil.which("provisioner") or "provisioner"


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([PROVISIONER, *args], text=True, capture_output=True, timeout=60,
                          check=False)


def stack_text(uri: str, workers: str) -> str:
    return textwrap.dedent(f"""\
        apiVersion: provisioner/v1
        stack: foreachcli
        providers:
          kvm: {{ type: libvirt, uri: "{uri}" }}
        variables:
          workers:
            default: {workers}
        networks:
          lab: {{ provider: kvm, mode: nat, cidr: 10.9.0.0/24 }}
        guests:
          web:
            provider: kvm
            for_each: ${{var.workers}}
            memory: ${{each.value}}
            networks: [ {{ network: lab }} ]
        outputs:
          names: ${{guests.web[*].name}}
        """)


class Quiet:
    def started(self, step: object) -> None: ...
    def finished(self, result: object) -> None: ...


def test_removing_a_middle_key_plans_the_deletion_of_that_instance_only(
        tmp_path: Path) -> None:
    uri = node_uri(tmp_path)
    write_stack(tmp_path, stack_text(uri, "{a: 256MiB, b: 384MiB, c: 512MiB}"))
    with Engine(load_stack(tmp_path)) as engine:  # state in .provisioner/, as the CLI's
        assert engine.apply(engine.plan(), Quiet()).ok
        snapshot_node(engine.providers()["kvm"].client.conn,  # type: ignore[attr-defined]
                      tmp_path / "node.xml")
    clean = run("plan", str(tmp_path), "--detailed-exitcode")
    assert clean.returncode == 0, clean.stdout + clean.stderr
    write_stack(tmp_path, stack_text(uri, "{a: 256MiB, c: 512MiB}"))
    plan = run("plan", str(tmp_path), "--detailed-exitcode", "--json")
    assert plan.returncode == 2, plan.stdout + plan.stderr
    changes = {c["address"]: c["action"] for c in json.loads(plan.stdout)["changes"]}
    assert changes == {"networks.lab": "no-op", "guests.web-a": "no-op",
                       "guests.web-b": "delete", "guests.web-c": "no-op"}
    applied = run("apply", str(tmp_path), "--auto-approve")
    assert applied.returncode == 0, applied.stdout + applied.stderr
    assert "0 created, 0 updated, 1 deleted" in applied.stdout
    shown = json.loads(run("show", str(tmp_path), "--json").stdout)
    assert sorted(r["address"] for r in shown["resources"]) == [
        "guests.web-a", "guests.web-c", "networks.lab"]
