"""Profile one ``provisioner plan`` in-process: ``python -m bench.profile_plan STACK OUT``.

The CLI runs as a user runs it, except that the bulk read runs on the main thread
(the engine hands it to a thread pool, which the profilers do not follow; with one
provider the pool runs exactly one task, so the work is the same). Writes
pyinstrument's call tree (if pyinstrument is installed) and cProfile's top
functions by own time to OUT, as Markdown.
"""

from __future__ import annotations

import contextlib
import cProfile
import io
import pstats
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any


def _plan(stack: str) -> None:
    from provisioner import engine
    from provisioner.cli import main

    def refresh(self: Any, *_: Any, **__: Any) -> Any:  # whatever the engine passes
        return {name: p.list_managed() for name, p in self.providers().items()}

    engine.Engine.refresh = refresh  # type: ignore[method-assign]
    sys.argv = ["provisioner", "plan", stack]
    with contextlib.redirect_stdout(io.StringIO()), contextlib.suppress(SystemExit):
        main()


def _pyinstrument(run: Callable[[], None]) -> str | None:
    try:
        from pyinstrument import Profiler
    except ImportError:
        return None
    profiler = Profiler(interval=0.001)
    profiler.start()
    run()
    profiler.stop()
    text = profiler.output_text(unicode=False, color=False, show_all=False)
    return "\n".join(text.splitlines()[:70])


def _cprofile(run: Callable[[], None]) -> str:
    profile = cProfile.Profile()
    profile.enable()
    run()
    profile.disable()
    out = io.StringIO()
    pstats.Stats(profile, stream=out).strip_dirs().sort_stats("tottime").print_stats(18)
    lines = out.getvalue().splitlines()
    start = next(i for i, line in enumerate(lines) if "ncalls" in line)
    head = [line for line in lines[:start] if "function calls" in line]
    return "\n".join([*head, *lines[start:]]).rstrip()


def main() -> None:
    stack, out = sys.argv[1], Path(sys.argv[2])
    mode = sys.argv[3] if len(sys.argv) > 3 else "both"
    parts = []
    if mode in ("both", "pyinstrument"):
        tree = _pyinstrument(lambda: _plan(stack))
        if tree is not None:
            parts.append("pyinstrument (wall clock, 1 ms samples):\n\n```\n" + tree + "\n```")
    if mode in ("both", "cprofile"):
        parts.append("cProfile, top functions by own time (its overhead inflates "
                     "call-heavy code):\n\n```\n" + _cprofile(lambda: _plan(stack)) + "\n```")
    out.write_text("\n\n".join(parts) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
