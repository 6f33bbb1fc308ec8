"""The pipeline workflow through the real console script: saved plans, Markdown
plans, drift reports, --target/--exclude.

The hypervisor is libvirt's test driver; a state made in-process is carried to
the subprocesses by snapshotting the driver into its node file.
"""

from __future__ import annotations

import json
import os
import re
import stat
import textwrap
from pathlib import Path

import pytest
from support.libvirt_node import node_uri, snapshot_node, write_stack
from test_cli import run

from provisioner.engine import Engine
from provisioner.stack.loader import load_stack

STACK = """\
apiVersion: provisioner/v1
stack: ops
providers:
  kvm: {{ type: libvirt, uri: "{uri}" }}
networks:
  lab: {{ provider: kvm, mode: nat, cidr: 10.9.0.0/24 }}
guests:
  web:
    provider: kvm
    count: 2
    cpus: {cpus}
    memory: 256MiB
    networks: [ {{ network: lab }} ]
    cloud_init: {{ user_data: "#cloud-config\\npassword: hunter2-canary\\n" }}
"""


class Quiet:
    def started(self, step: object) -> None: ...
    def finished(self, result: object) -> None: ...


@pytest.fixture
def applied(tmp_path: Path) -> Path:
    """A stack applied in-process, its hypervisor snapshotted for the subprocesses."""
    uri = node_uri(tmp_path)
    write_stack(tmp_path, STACK.format(uri=uri, cpus=1))
    with Engine(load_stack(tmp_path)) as engine:
        assert engine.apply(engine.plan(), Quiet()).ok
        snapshot_node(engine.providers()["kvm"].client.conn,  # type: ignore[attr-defined]
                      tmp_path / "node.xml")
    return tmp_path


def _set_cpus(stack_dir: Path, cpus: int) -> None:
    text = (stack_dir / "stack.yaml").read_text()
    (stack_dir / "stack.yaml").write_text(re.sub(r"cpus: \d+", f"cpus: {cpus}", text))


def test_a_saved_plan_applies_exactly_and_is_shown(applied: Path) -> None:
    _set_cpus(applied, 2)
    plan_file = applied / "ops.plan"
    planned = run("plan", str(applied), "-o", str(plan_file), "--detailed-exitcode")
    assert planned.returncode == 2, planned.stderr
    assert stat.S_IMODE(os.stat(plan_file).st_mode) == 0o600
    body = plan_file.read_text()
    assert "hunter2-canary" not in body  # cloud-init content never reaches the file
    assert json.loads(body)["format"] == "provisioner-plan"
    shown = run("show", str(plan_file))
    assert "cpus: 1 -> 2  # requires restart" in shown.stdout
    assert json.loads(run("show", "--json", str(plan_file)).stdout)["summary"] == {
        "add": 0, "change": 2, "destroy": 0}
    applied_run = run("apply", str(plan_file))  # no terminal, no --auto-approve: reviewed
    assert applied_run.returncode == 0, applied_run.stderr
    assert "Apply complete: 0 created, 2 updated, 0 deleted." in applied_run.stdout


def test_a_saved_plan_is_refused_when_the_stack_changed(applied: Path) -> None:
    _set_cpus(applied, 2)
    plan_file = applied / "ops.plan"
    assert run("plan", str(applied), "-o", str(plan_file)).returncode == 0
    _set_cpus(applied, 3)
    refused = run("apply", str(plan_file))
    assert refused.returncode == 1
    assert "the saved plan is out of date" in refused.stderr
    assert "the stack files or variable values changed since the plan" in refused.stderr
    assert "Apply complete" not in refused.stdout


def test_a_saved_plan_is_refused_when_a_live_object_changed(applied: Path) -> None:
    _set_cpus(applied, 2)
    plan_file = applied / "ops.plan"
    assert run("plan", str(applied), "-o", str(plan_file)).returncode == 0
    node = applied / "node.xml"  # someone changes web-1's memory on the hypervisor
    text = node.read_text()
    start = text.index("<name>web-1</name>")
    head, tail = text[:start], text[start:]
    tail = tail.replace("<currentMemory unit='KiB'>262144", "<currentMemory unit='KiB'>131072", 1)
    node.write_text(head + tail)
    refused = run("apply", str(plan_file))
    assert refused.returncode == 1
    assert "guests.web-1 changed on the hypervisor" in refused.stderr
    assert "guests.web-0" not in refused.stderr.split("out of date", 1)[1]


def test_markdown_plan_for_pull_requests(applied: Path) -> None:
    _set_cpus(applied, 2)
    result = run("plan", str(applied), "--format", "markdown", "--detailed-exitcode")
    assert result.returncode == 2
    text = result.stdout
    assert text.startswith("### provisioner plan for stack `ops`")
    assert "**Plan: 0 to add, 2 to change, 0 to destroy.**" in text
    assert "| `~` | `guests.web-0` | update | requires restart |" in text
    assert "<details>" in text and "```diff" in text and "! cpus: 1 -> 2" in text
    assert "hunter2-canary" not in text


def test_drift_reports_changes_made_outside_and_exits_2(applied: Path) -> None:
    clean = run("drift", str(applied))
    assert clean.returncode == 0, clean.stdout + clean.stderr
    assert clean.stdout.startswith("No drift")
    node = applied / "node.xml"
    text = node.read_text()
    start = text.index("<name>web-0</name>")
    node.write_text(text[:start] + text[start:].replace(
        "<currentMemory unit='KiB'>262144", "<currentMemory unit='KiB'>131072", 1))
    drifted = run("drift", str(applied))
    assert drifted.returncode == 2
    assert "~ guests.web-0 changed" in drifted.stdout
    assert "memory: 256MiB -> 128MiB" in drifted.stdout
    as_json = json.loads(run("plan", "--refresh-only", "--format", "json", str(applied)).stdout)
    assert as_json["drift"][0]["address"] == "guests.web-0"
    assert as_json["drift"][0]["fields"][0]["path"] == "memory"


def test_target_and_exclude_on_the_command_line(tmp_path: Path) -> None:
    write_stack(tmp_path, STACK.format(uri=node_uri(tmp_path), cpus=1))
    targeted = json.loads(run("plan", str(tmp_path), "--json", "--target", "guests.web-1").stdout)
    assert [c["address"] for c in targeted["changes"]] == ["networks.lab", "guests.web-1"]
    excluded = json.loads(run("plan", str(tmp_path), "--json", "--exclude", "networks.lab").stdout)
    assert excluded["changes"] == []
    counted = json.loads(run("plan", str(tmp_path), "--json", "--target", "guests.web").stdout)
    assert len(counted["changes"]) == 3  # a counted name targets every instance
    bad = run("plan", str(tmp_path), "--target", "guest.web")
    assert bad.returncode == 1 and "--target guest.web" in bad.stderr


def test_import_adopts_an_untagged_guest_and_prints_its_yaml(tmp_path: Path) -> None:
    uri = node_uri(tmp_path)
    node = tmp_path / "node.xml"
    node.write_text(node.read_text().replace("</node>", textwrap.dedent("""\
        <domain type='qemu'><name>handmade</name><memory unit='KiB'>524288</memory>
          <vcpu>2</vcpu><os><type arch='x86_64'>hvm</type></os></domain>
        </node>""")))
    write_stack(tmp_path, STACK.format(uri=uri, cpus=1))
    result = run("import", "guests.handmade", "handmade", str(tmp_path))
    assert result.returncode == 0, result.stderr
    assert "Imported 'handmade' as guests.handmade" in result.stdout
    assert "guests:\n  handmade:\n    provider: kvm\n    cpus: 2\n    memory: 512MiB" in \
        result.stdout
    shown = json.loads(run("show", "--json", str(tmp_path)).stdout)
    assert [r["address"] for r in shown["resources"]] == ["guests.handmade"]
    missing = run("import", "guests.other", "nope", str(tmp_path))
    assert missing.returncode == 1
    assert "no guest named 'nope' to adopt" in missing.stderr and "handmade" in missing.stderr
