"""The quick no-change check on the real daemon, through the command line: the third
identical plan is answered from its receipt, and a change made with libvirt's own
calls (the definition's memory, a guest stopped) is planned in full and shows.
The same on a test:/// host, with more kinds of change:
tests/integration/test_quick_check_libvirt.py."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import libvirt
from support.e2e import E2EStack

STACK = """
guests:
  qc-a:
    provider: kvm
    memory: 128MiB
    disks: [ { size: 32MiB } ]
    options: { BOOT_OPTIONS }
"""
ANSWERED = "quick check: answered from the receipt"
CHANGED = "quick check: running in full: a file, variable, state or host the run reads has changed"
NO_CHANGES = "No changes. The hypervisors match the stack.\n"


def _plan(stack: E2EStack, cache: Path) -> tuple[str, str]:
    """(what the plan printed, what the quick check said)."""
    done = subprocess.run(
        [sys.executable, "-m", "provisioner", "plan", str(stack.directory), "--no-color",
         *stack.var_args()], capture_output=True, text=True, timeout=300, check=False,
        env={**os.environ, "XDG_CACHE_HOME": str(cache), "PROVISIONER_QUICK": "explain"})
    assert done.returncode == 0, done.stderr
    said = [line for line in done.stderr.splitlines() if line.startswith("quick check:")]
    return done.stdout, said[0] if said else ""


def test_a_change_made_with_libvirt_is_planned_in_full_and_shows(
        new_stack: Callable[..., E2EStack], conn: Any, tmp_path: Path) -> None:
    stack = new_stack()
    stack.write(STACK)
    stack.apply()
    cache = tmp_path / "cache"
    runs = [_plan(stack, cache) for _ in range(3)]
    assert [out for out, _ in runs] == [NO_CHANGES] * 3
    assert runs[-1][1] == ANSWERED, runs

    domain = conn.lookupByName("qc-a")
    config = libvirt.VIR_DOMAIN_AFFECT_CONFIG
    domain.setMemoryFlags(256 * 1024, config | libvirt.VIR_DOMAIN_MEM_MAXIMUM)
    domain.setMemoryFlags(256 * 1024, config)
    out, said = _plan(stack, cache)
    assert said == CHANGED and "memory: 256MiB -> 128MiB" in out, out

    domain.setMemoryFlags(128 * 1024, config)
    domain.setMemoryFlags(128 * 1024, config | libvirt.VIR_DOMAIN_MEM_MAXIMUM)
    assert _plan(stack, cache) == (NO_CHANGES, ANSWERED)  # the host is as it was

    domain.destroy()
    out, said = _plan(stack, cache)
    assert said == CHANGED and 'power: "stopped" -> "running"' in out, out
    stack.destroy()
