"""``provisioner capacity``: the table with bars and the JSON, on two libvirt test:///
hosts of different sizes declared as one placement group."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

import pytest
from support.libvirt_node import node_uri, write_stack
from test_cli import run

GIB = 1 << 30


def _stack(tmp_path: Path, memory: str = "2GiB", pinned: str = "") -> Path:
    small, big = tmp_path / "small", tmp_path / "big"
    small.mkdir(exist_ok=True)
    big.mkdir(exist_ok=True)
    write_stack(tmp_path, textwrap.dedent(f"""\
        apiVersion: provisioner/v1
        stack: captest
        providers:
          small: {{ type: libvirt, uri: "{node_uri(small, cpus=4, memory_gib=8)}" }}
          big:
            type: libvirt
            uri: "{node_uri(big, cpus=8, memory_gib=16, pool_gib=100)}"
            capacity: {{ cpu_overcommit: 2, reserve_memory: 2GiB }}
        placement_groups:
          hosts: {{ providers: [small, big] }}
        guests:
          app:
            provider: hosts
            count: 3
            cpus: 2
            memory: {memory}
            disks: [ {{ size: 10GiB }} ]
        {pinned}
        """))
    return tmp_path


def test_table_shows_each_host_with_bars_placement_and_verdict(tmp_path: Path) -> None:
    result = run("capacity", str(_stack(tmp_path)))
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "Capacity for stack 'captest', before and after this plan (3 to add" in out
    # big has 14GiB for guests (16GiB, 2GiB kept), small 8GiB: spread puts each guest
    # where the most is left after it: big (12), big (10), big again (8 beats small's 6)
    assert "guests.app-0: placed on big (spread: 12GiB of memory left there)" in out
    assert "guests.app-2: placed on big (spread: 8GiB of memory left there)" in out
    big_memory = next(line for line in out.splitlines()
                      if line.startswith("  memory") and "14GiB" in line)
    # 0 running + 6GiB of 14GiB: 24 cells scaled to 14GiB, 10 of them +
    assert big_memory.startswith("  memory  [++++++++++..............]  0B + 6GiB of 14GiB "
                                 "(16GiB - 2GiB kept)"), big_memory
    assert "vCPUs   [+++++++++...............]  0 + 6 of 16 (8 CPUs x 2)" in out
    assert "vCPUs   [........................]  0 of 16 (4 CPUs x 4)" in out
    assert "big/default" in out and "0B + 30GiB of 100GiB used" in out
    assert out.rstrip().endswith("The plan fits.")


def test_json_has_every_number_of_the_table(tmp_path: Path) -> None:
    result = run("capacity", str(_stack(tmp_path)), "--json")
    assert result.returncode == 0, result.stderr
    document = json.loads(result.stdout)
    assert document["fits"] is True and document["plan"] == {"add": 3, "change": 0,
                                                             "destroy": 0}
    hosts = {row["provider"]: row for row in document["hosts"]}
    assert set(hosts) == {"small", "big"}
    assert hosts["big"]["memory"] == {"total": 16 * GIB, "limit": 14 * GIB, "running": 0,
                                      "stopped": 0, "plan": 6 * GIB, "after": 6 * GIB,
                                      "fits": True}
    assert hosts["small"]["cpus"]["limit"] == 16 and hosts["small"]["cpus"]["plan"] == 0
    assert hosts["big"]["reserve_memory"] == 2 * GIB
    assert sorted(document["placements"]) == ["guests.app-0", "guests.app-1", "guests.app-2"]
    pools = {(row["provider"], row["pool"]): row for row in document["pools"]}
    assert pools[("big", "default")]["plan"] == 30 * GIB
    assert document["problems"] == []


@pytest.mark.parametrize("as_json", [False, True])
def test_a_plan_that_does_not_fit_is_shown_and_exits_1(tmp_path: Path, as_json: bool) -> None:
    pinned = "  db: { provider: small, cpus: 2, memory: 10GiB }"
    args = ["capacity", str(_stack(tmp_path, pinned=pinned))] + (["--json"] if as_json else [])
    result = run(*args)
    assert result.returncode == 1, result.stderr
    if as_json:
        document = json.loads(result.stdout)
        assert document["fits"] is False
        (problem,) = document["problems"]
    else:
        assert "DOES NOT FIT: 2GiB over" in result.stdout
        assert "!!!" in result.stdout
        problem = result.stdout.split("The plan does not fit:\n", 1)[1].strip()
    assert problem.startswith("provider small, node ") and \
        "8GiB of memory free for guests" in problem and "guests.db: 10GiB" in problem
    assert run("plan", str(tmp_path)).returncode == 1  # plan refuses the same stack


def test_a_placement_reason_agrees_with_the_table_after_an_update(tmp_path: Path) -> None:
    """db runs 2GiB on big and grows to 5GiB in the same plan that places app: the
    memory the reason says is left on big is what the report shows after the plan
    (it said 10GiB, counting the new guest only)."""
    from support.libvirt_node import snapshot_node

    from provisioner.engine import Engine
    from provisioner.stack.loader import load_stack

    class Quiet:
        def started(self, step: object) -> None: ...
        def finished(self, result: object) -> None: ...

    def write(body: str) -> None:
        text = (tmp_path / "stack.yaml").read_text()
        (tmp_path / "stack.yaml").write_text(text.split("guests:")[0] + "guests:\n" + body)

    _stack(tmp_path)
    write("  db: { provider: big, memory: 2GiB }\n")
    with Engine(load_stack(tmp_path)) as engine:  # state in .provisioner/, as the CLI's
        assert engine.apply(engine.plan(), Quiet()).ok
        snapshot_node(engine.providers()["big"].client.conn,  # type: ignore[attr-defined]
                      tmp_path / "big" / "node.xml")
    write("  db: { provider: big, memory: 5GiB }\n  app: { provider: hosts, memory: 2GiB }\n")
    result = run("capacity", str(tmp_path), "--json")
    assert result.returncode == 0, result.stderr
    document = json.loads(result.stdout)
    big = next(row["memory"] for row in document["hosts"] if row["provider"] == "big")
    assert (big["running"], big["plan"]) == (2 * GIB, 5 * GIB)  # +3GiB db, +2GiB app
    assert big["limit"] - big["after"] == 7 * GIB
    assert document["placements"] == {
        "guests.app": "placed on big (spread: 7GiB of memory left there)"}
