"""Random YAML-ish stack documents through ``validate``: never a traceback, never
"internal error", never a hang, bounded memory, and every problem at file:line.

Documents start from a valid stack, get parts replaced by random values from a
stack's vocabulary (and anchors, aliases, merge keys), are dumped as YAML, and
then get random tokens inserted into their text. Bounded: 150 examples, each
with a deadline, and an alarm that fails a hang instead of waiting on it.
"""

from __future__ import annotations

import re
import resource
import signal
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from support.hostile_runner import invoke

KEYS = ["apiVersion", "stack", "providers", "variables", "guests", "networks", "volumes",
        "pools", "images", "outputs", "state", "placement_groups", "provider", "memory",
        "cpus", "count", "disks", "size", "network", "cloud_init", "user_data", "meta_data",
        "image", "url", "lifecycle", "prevent_destroy", "ignore_changes", "depends_on",
        "options", "mode", "cidr", "type", "uri", "default", "sensitive", "value", "pool",
        "path", "power", "on_change", "web", "db", "lab", "x", "<<"]
SCALARS = st.one_of(
    st.sampled_from(["256MiB", "1GiB", "0B", "-1", "kvm", "libvirt", "nat", "10.0.0.0/24",
                     "${var.x}", "${var.x", "${guests.web[9].name}", "${env.HOME}",
                     "${count.index}", "../../etc/passwd", "/dev/zero", "#cloud-config",
                     "provisioner/v1", "guests.web", "", " ", "yes", "on", "null", "~"]),
    st.integers(min_value=-2**70, max_value=2**70), st.booleans(), st.none(),
    st.floats(allow_nan=True), st.text(max_size=20))
VALUES = st.recursive(
    SCALARS,
    lambda inner: st.one_of(st.lists(inner, max_size=4),
                            st.dictionaries(st.sampled_from(KEYS) | st.text(max_size=8),
                                            inner, max_size=4)),
    max_leaves=25)
TOKENS = [":", ": ", "- ", "[", "]", "{", "}", ",", "&a ", "*a", "*b", "<<: *a\n", "!!int ",
          "!!python/name:os.system ", "!!binary ", "\t", "'", '"', "\n", "\n  ", "${", "%",
          "@", "|", ">", "? ", "#", "\ufeff", "\u0085", "\\", "---\n", "...\n", "&b [*a, *a]"]
BASE: dict[str, Any] = {
    "apiVersion": "provisioner/v1",
    "stack": "fuzz",
    "providers": {"kvm": {"type": "libvirt", "uri": "test:///default"}},
    "variables": {"x": {"default": 1}},
    "networks": {"lab": {"provider": "kvm", "mode": "nat", "cidr": "10.9.0.0/24"}},
    "guests": {"web": {"provider": "kvm", "count": 2, "memory": "256MiB",
                       "networks": [{"network": "lab"}], "disks": [{"size": "1GiB"}]}},
    "outputs": {"names": "${guests.web[*].name}"},
}
LOCATED = re.compile(r"^(Error: )?(\S*/)?stack\.yaml:\d+:\d+: ")
SUMMARY = re.compile(r"^\d+ problems? in the stack\.$")
MEMORY_GROWTH_KIB = 512 * 1024
"""The most the process's peak memory may grow while the fuzzer runs."""
_START_KIB = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


@st.composite
def documents(draw: st.DrawFn) -> str:
    data: dict[str, Any] = yaml.safe_load(yaml.safe_dump(BASE))
    for _ in range(draw(st.integers(0, 4))):
        _replace_somewhere(data, draw)
    text = yaml.safe_dump(data, sort_keys=False, allow_unicode=True)
    for _ in range(draw(st.integers(0, 4))):
        where = draw(st.integers(0, len(text)))
        text = text[:where] + draw(st.sampled_from(TOKENS)) + text[where:]
    return text


def _replace_somewhere(data: dict[str, Any], draw: st.DrawFn) -> None:
    node: Any = data
    for _ in range(draw(st.integers(0, 4))):
        if not isinstance(node, dict) or not node:
            break
        key = draw(st.sampled_from(sorted(node, key=str)))
        if not isinstance(node[key], dict):
            break
        node = node[key]
    if isinstance(node, dict):
        node[draw(st.sampled_from(KEYS))] = draw(VALUES)


@contextmanager
def alarm(seconds: int) -> Iterator[None]:
    def expired(_signum: int, _frame: object) -> None:
        raise TimeoutError(f"validate ran longer than {seconds} s")

    previous = signal.signal(signal.SIGALRM, expired)
    signal.alarm(seconds)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)


def check_validate(text: str) -> None:
    with tempfile.TemporaryDirectory() as directory:
        path = Path(directory) / "stack.yaml"
        path.write_text(text, encoding="utf-8")
        with alarm(20):
            outcome = invoke("validate", str(path))
    assert outcome.code in (0, 1), outcome.text
    grown = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - _START_KIB
    assert grown < MEMORY_GROWTH_KIB, f"peak memory grew by {grown} KiB"
    assert "internal error" not in outcome.text and "Traceback" not in outcome.text, \
        outcome.text
    if outcome.code == 0:
        return
    problems = [line for line in outcome.stderr.splitlines()
                if line and not line.startswith("  ") and not SUMMARY.match(line)]
    assert problems, outcome.stderr
    unlocated = [line for line in problems if not LOCATED.match(line)]
    assert not unlocated, outcome.stderr


@settings(max_examples=150, deadline=5000, derandomize=True,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(documents())
def test_random_stacks_give_located_problems_never_a_traceback(text: str) -> None:
    check_validate(text)

