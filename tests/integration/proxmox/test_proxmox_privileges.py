"""The API token's privileges documented in docs/providers/proxmox.md are enough for
the whole lifecycle (fakepve checks each request against PVE's permission schema)."""

from __future__ import annotations

from pathlib import Path

import pytest
from pve_harness import TOKEN, Lab, Recorder, TestPve, failures

from provisioner.plan.planner import PlanOptions

ROOT = Path(__file__).resolve().parents[3]
TOKEN_ID = "provisioner@pve!ci"
"""Not root@pam's: root holds every privilege whatever the ACL says."""
DOC = ROOT / "docs" / "providers" / "proxmox.md"
STACK = """
pools:
  fast: { provider: pve, path: /srv/fast }
guests:
  web:
    provider: pve
    clone: debian-12
    node: pve1
    memory: 1GiB
    disks: [ { size: 4GiB }, { size: 1GiB, pool: fast } ]
    networks: [ { bridge: vmbr0, vlan: 20, firewall: true } ]
    options:
      tags: [web]
      pool: lab
      cloud_init:
        user: debian
        ipconfig: ["ip=dhcp"]
        custom: { vendor: local:snippets/web.yaml }
containers:
  app:
    provider: pve
    node: pve2
    template: local:vztmpl/debian-12-standard_12.7-1_amd64.tar.zst
    rootfs: { size: 2GiB }
    networks: [ { bridge: vmbr0 } ]
    options: { pool: lab }
"""


def documented_privileges() -> list[str]:
    """The privileges of the role in the docs' `pveum role add` line."""
    for line in DOC.read_text(encoding="utf-8").splitlines():
        if line.startswith("pveum role add Provisioner"):
            return line.split('"')[1].split()
    raise AssertionError("no `pveum role add Provisioner` line in the docs")


@pytest.mark.simulator_only(
    "grants the documented role to the fake's token (fakepve checks every request against PVE's "
    "permission schema)")
def test_the_documented_role_covers_the_lifecycle(lab: Lab, pve: TestPve) -> None:
    pve.pools["lab"] = set()
    pve.pool_info["lab"] = {"comment": None, "storage": set()}
    pve.apitokens[TOKEN_ID] = TOKEN
    pve.grant(TOKEN_ID, "/", *documented_privileges())
    _, result = lab.apply(STACK, token_id=TOKEN_ID)
    assert result.ok, failures(result)
    assert not lab.plan(STACK, token_id=TOKEN_ID).has_changes
    _, result = lab.apply(STACK.replace("memory: 1GiB", "memory: 2GiB"), token_id=TOKEN_ID)
    assert result.ok, failures(result)
    with lab.engine(STACK, token_id=TOKEN_ID) as engine:
        gone = engine.apply(engine.plan(PlanOptions(destroy=True)), Recorder())
    assert gone.ok, failures(gone)
    assert [vm.vmid for vm in pve.vms if not vm.template] == []


@pytest.mark.simulator_only("grants the fake's token too few privileges")
def test_without_them_the_error_names_the_missing_privilege(lab: Lab, pve: TestPve) -> None:
    pve.apitokens[TOKEN_ID] = TOKEN
    pve.grant(TOKEN_ID, "/", "VM.Audit", "Datastore.Audit", "Sys.Audit")
    _, result = lab.apply(STACK.replace("      pool: lab\n", "").replace(
        "    options: { pool: lab }\n", "").replace(
        "        custom: { vendor: local:snippets/web.yaml }\n", ""), token_id=TOKEN_ID)
    message = " ".join(failures(result))
    assert not result.ok
    assert "Permission check failed (/storage/lab_fast, Datastore.Allocate)" in message, message
