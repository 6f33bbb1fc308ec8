"""One benchmark plan as a user runs it, and its profile, for benchmark 1's tables."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

from bench.context import ROOT, Context
from bench.measure import Run, run
from bench.report import Section

_CALLS = re.compile(r"(\d+) (connect|list|read|write)")


def plan_once(stack_dir: Path) -> tuple[Run, dict[str, int]]:
    result = run([sys.executable, "-m", "provisioner", "plan", str(stack_dir), "--stats",
                  "--no-color"], cwd=ROOT)
    if not result.ok or "No changes" not in result.stdout:
        raise RuntimeError(f"plan of {stack_dir} did not report no changes:\n{result.tail()}")
    line = next((line for line in result.stdout.splitlines() if " list" in line), "")
    calls = {kind: int(count) for count, kind in _CALLS.findall(line)}
    return result, calls


def measure(stack_dir: Path, repeats: int) -> tuple[list[Run], dict[str, int]]:
    plan_once(stack_dir)  # warm the file cache and the daemon once
    runs: list[Run] = []
    calls: dict[str, int] = {}
    for _ in range(repeats):
        result, calls = plan_once(stack_dir)
        runs.append(result)
    return runs, calls


def profile_into(ctx: Context, section: Section, stack_dir: Path, title: str) -> None:
    """Profile one plan of ``stack_dir`` (bench.profile_plan) into the section's notes."""
    ctx.log(f"plan scaling: profiling the {title}")
    out = ctx.work / f"profile-{stack_dir.name}.md"
    subprocess.run([sys.executable, "-m", "bench.profile_plan", str(stack_dir), str(out)],
                   cwd=ROOT, check=True)
    section.notes.append(f"### Profile of the {title}\n\n" + out.read_text(encoding="utf-8"))
