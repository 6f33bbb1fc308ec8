"""YAML that would exhaust the runner: an alias bomb, deep nesting.

The bombs run in a subprocess with a bounded address space and a timeout: before
the fix, nine levels of aliases (under 600 bytes) grew past 1.8 GB in a minute,
and 500 nested brackets ended in "internal error: RecursionError".
"""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from support.hostile_runner import invoke, spawn, write_stack

from provisioner.stack.yaml_bounds import ALIAS_EXPANSION_LIMIT, MAX_DEPTH

MEMORY_MIB = 1024
TIMEOUT = 30


def bomb(levels: int = 9, flow: bool = False) -> list[str]:
    """Lines of an alias bomb: each level a list of nine aliases of the one before."""
    lines = ["x0: &a0 [lol, lol, lol, lol, lol, lol, lol, lol, lol]"]
    for level in range(1, levels + 1):
        aliases = ", ".join([f"*a{level - 1}"] * 9)
        lines.append(f"x{level}: &a{level} [{aliases}]")
    return [line.split(": ", 1)[1] for line in lines] if flow else lines


def expansion_refused(text: str) -> None:
    assert f"aliases here expand to more than {ALIAS_EXPANSION_LIMIT} values" in text
    assert "internal error" not in text


def test_an_alias_bomb_is_refused_at_the_alias_in_bounded_memory_and_time(
        tmp_path: Path) -> None:
    path = write_stack(tmp_path, "\n".join(bomb()) + "\n")
    outcome = spawn("validate", str(path), memory_mib=MEMORY_MIB, timeout=TIMEOUT)
    assert outcome.code == 1
    expansion_refused(outcome.stderr)
    lines = path.read_text().splitlines()
    line = int(outcome.stderr.split("stack.yaml:", 1)[1].split(":", 1)[0])
    assert lines[line - 1].startswith("x") and "*a" in lines[line - 1]  # an alias's line


def test_an_alias_bomb_of_mappings_is_refused(tmp_path: Path) -> None:
    lines = ["m0: &m0 {a: 1, b: 2, c: 3, d: 4, e: 5, f: 6, g: 7, h: 8, i: 9}"]
    for level in range(1, 10):
        keys = ", ".join(f"{key}: *m{level - 1}" for key in "abcdefghi")
        lines.append(f"m{level}: &m{level} {{{keys}}}")
    path = write_stack(tmp_path, "\n".join(lines) + "\n")
    outcome = spawn("validate", str(path), memory_mib=MEMORY_MIB, timeout=TIMEOUT)
    assert outcome.code == 1
    expansion_refused(outcome.stderr)


def test_a_merge_key_bomb_is_refused_at_the_merge(tmp_path: Path) -> None:
    """PyYAML up to 6.0.3 copies every merged pair (nine levels: 9**9 pairs), and the
    bound refuses it at the merge; 6.0.4 keeps each key once, so the document is
    small and validates to its ordinary problems. Either way: bounded memory and
    time, no internal error."""
    lines = ["m0: &m0 {a: 1, b: 2, c: 3, d: 4, e: 5, f: 6, g: 7, h: 8, i: 9}"]
    for level in range(1, 10):
        merged = ", ".join([f"*m{level - 1}"] * 9)
        lines.append(f"m{level}: &m{level} {{<<: [{merged}]}}")
    path = write_stack(tmp_path, "\n".join(lines) + "\n")
    outcome = spawn("validate", str(path), memory_mib=MEMORY_MIB, timeout=TIMEOUT)
    assert outcome.code == 1
    assert "internal error" not in outcome.stderr
    if not _merges_copy_every_pair():
        assert "unknown key 'm9'" in outcome.stderr, outcome.stderr
        return
    expansion_refused(outcome.stderr)
    line = int(outcome.stderr.split("stack.yaml:", 1)[1].split(":", 1)[0])
    assert "<<:" in path.read_text().splitlines()[line - 1]


def _merges_copy_every_pair() -> bool:
    """Whether this PyYAML keeps every pair a ``<<:`` merges (duplicates too)."""
    node = yaml.compose("a: &a {k: 1}\nb: {<<: [*a, *a]}\n")
    loader = yaml.SafeLoader("")
    merged = node.value[1][1]
    loader.flatten_mapping(merged)
    return len(merged.value) == 2


def test_an_alias_bomb_through_var_is_refused(tmp_path: Path) -> None:
    path = write_stack(tmp_path, "variables:\n  v: { type: list, default: [] }\n")
    value = "[" + ", ".join(bomb(flow=True)) + "]"
    outcome = spawn("validate", str(path), "--var", f"v={value}", memory_mib=MEMORY_MIB,
                    timeout=TIMEOUT)
    assert outcome.code == 1
    expansion_refused(outcome.stderr)
    assert "--var v" in outcome.stderr


@pytest.mark.parametrize("style", ["flow", "block"])
def test_deep_nesting_is_a_problem_at_its_line(tmp_path: Path, style: str) -> None:
    if style == "flow":
        body = "options:\n  x: " + "[" * 500 + "]" * 500 + "\n"
    else:
        body = "options:\n" + "".join("  " * (depth + 1) + f"k{depth}:\n"
                                      for depth in range(500)) + "  " * 501 + "v\n"
    path = write_stack(tmp_path, body)
    outcome = spawn("validate", str(path), memory_mib=MEMORY_MIB, timeout=TIMEOUT)
    assert outcome.code == 1
    assert f"invalid YAML: nesting deeper than {MAX_DEPTH} levels" in outcome.stderr
    assert "RecursionError" not in outcome.stderr and "internal error" not in outcome.stderr
    line = int(outcome.stderr.split("stack.yaml:", 1)[1].split(":", 1)[0])
    assert line == (6 if style == "flow" else 5 + MAX_DEPTH - 1)


def test_deep_nesting_through_var_is_refused(tmp_path: Path) -> None:
    path = write_stack(tmp_path, "variables:\n  v: { type: list, default: [] }\n")
    outcome = invoke("validate", str(path), "--var", "v=" + "[" * 500 + "]" * 500)
    assert outcome.code == 1
    assert f"nesting deeper than {MAX_DEPTH} levels" in outcome.stderr
    assert "internal error" not in outcome.stderr


def test_aliases_that_nest_past_the_depth_are_refused_at_the_alias(tmp_path: Path) -> None:
    """Each anchored value is 60 deep: written, nothing passes the bound; built, the
    alias inside the second makes 120 levels."""
    deep = "[" * 60 + "1" + "]" * 60
    nested = "[" * 60 + "*d" + "]" * 60
    path = write_stack(tmp_path, f"a: &d {deep}\nb: {nested}\n")
    outcome = invoke("validate", str(path))
    assert outcome.code == 1
    assert f"stack.yaml:6:64: aliases here nest values deeper than {MAX_DEPTH} levels" \
        in outcome.stderr


def test_aliases_a_stack_really_uses_still_work(tmp_path: Path) -> None:
    guests = "\n".join(f"  web{n}: {{ <<: *defaults, cpus: {n % 4 + 1} }}"
                       for n in range(1, 300))
    path = write_stack(tmp_path, "guests:\n  web0: &defaults\n    provider: kvm\n"
                                 "    memory: 256MiB\n"
                                 "    disks: [ { size: 1GiB }, { size: 2GiB } ]\n"
                                 f"{guests}\n")
    outcome = invoke("validate", str(path))
    assert (outcome.code, outcome.stderr) == (0, ""), outcome.stderr
    assert "300 guests" in outcome.stdout


def test_control_characters_from_the_stack_are_escaped_in_problems(tmp_path: Path) -> None:
    """Found by the fuzzer: a key written "\\e[2J\\r" reached the terminal raw."""
    path = write_stack(tmp_path, 'guests:\n  "web\\e[2J\\r": { provider: kvm }\n')
    outcome = invoke("validate", str(path))
    assert outcome.code == 1
    assert "'web\\x1b[2J\\r' is not a valid name" in outcome.stderr
    assert "\x1b" not in outcome.stderr and "\r" not in outcome.stderr


def test_merges_through_aliases_keep_every_key(tmp_path: Path) -> None:
    """An alias of a mapping with a merge, and a merge of such an alias, hold the merged
    keys (aliases are built from their anchors, as before the bounds)."""
    path = write_stack(tmp_path, """\
        guests:
          web: &w { <<: &b { provider: kvm, memory: 256MiB }, cpus: 1 }
          db: *w
          db2: { <<: [*w, *b], cpus: 3 }
        """)
    outcome = invoke("validate", str(path))
    assert (outcome.code, outcome.stderr) == (0, ""), outcome.stderr


def test_an_alias_of_a_merged_mapping_is_no_duplicate(tmp_path: Path) -> None:
    """Before: `db: *w` reported "duplicate key 'memory'" for a key `web` overrides."""
    path = write_stack(tmp_path, """\
        guests:
          web: &w { <<: { provider: kvm, memory: 256MiB }, memory: 512MiB }
          db: *w
        """)
    outcome = invoke("validate", str(path))
    assert (outcome.code, outcome.stderr) == (0, ""), outcome.stderr
