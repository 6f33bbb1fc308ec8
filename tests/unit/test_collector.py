"""The cyclic collector paused during start-up (provisioner/collector.py): the
console script pauses it, loading the stack freezes what start-up made and resumes
it; a process that never paused it (tests running commands in-process) is left as
it is, nothing frozen."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

pytestmark = pytest.mark.unit
ROOT = Path(__file__).resolve().parents[2]


def _run(code: str) -> str:
    result = subprocess.run([sys.executable, "-c", textwrap.dedent(code)], capture_output=True,
                            text=True, timeout=60, check=False, cwd=ROOT)
    assert result.returncode == 0, result.stderr
    return result.stdout.strip()


def test_paused_then_resumed_with_start_up_frozen() -> None:
    assert _run("""
        import gc
        from provisioner import collector
        collector.pause()
        paused = gc.isenabled()
        made = [[] for _ in range(1000)]
        collector.resume()
        print(paused, gc.isenabled(), gc.get_freeze_count() >= 1000)
    """) == "False True True"


def test_resume_without_pause_changes_nothing() -> None:
    assert _run("""
        import gc
        from provisioner import collector
        collector.resume()
        print(gc.isenabled(), gc.get_freeze_count())
    """) == "True 0"


def test_a_command_resumes_it_once_the_stack_is_loaded() -> None:
    """validate through the console script: paused at start, running again after
    the stack is read (the process exits through SystemExit, caught here)."""
    assert _run("""
        import gc, sys
        sys.argv = ["provisioner", "validate", "stacks/demo"]
        import os
        os.environ["PROVISIONER_QUICK"] = "0"
        from provisioner.console import main
        try:
            main()
        except SystemExit as exc:
            assert exc.code == 0, exc.code
        print(gc.isenabled())
    """).splitlines()[-1] == "True"
