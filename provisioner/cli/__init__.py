"""The command line: ``run`` runs the command ``sys.argv`` names.

The simplest command lines (``provisioner/command_line.py``: plan, apply and
validate of one stack with a few flags) call their command's function at once;
every other goes through the typer app (``app.py``), which parses its flags and
prints help and usage errors. The console script is ``provisioner.console.main``:
the quick check, then ``run``.
"""

from __future__ import annotations

import gc
import os
import sys
from typing import TYPE_CHECKING

from provisioner.streams import ensure_standard_streams, lost_output

if TYPE_CHECKING:
    from provisioner.quick.session import QuickRun


def main() -> None:
    """The command line without the quick check."""
    ensure_standard_streams()
    os.environ.setdefault("PYDANTIC_DISABLE_PLUGINS", "__all__")  # as provisioner.console
    run(None)


def run(quick: QuickRun | None = None) -> None:
    """The command ``sys.argv`` names; ``quick``: the quick check's record of it
    (docs/quick-check.md), concluded at its end."""
    if quick is not None:
        quick.start()
    code = 1
    try:
        _run_command(sys.argv[1:])
    except SystemExit as exc:
        if lost_output() is not None and exc.code in (0, None):
            raise SystemExit(1) from None
        code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
        raise
    finally:
        if quick is not None:
            quick.conclude(code if lost_output() is None else 1)
        # what is left is freed with the process: the interpreter's last collections
        # would walk every object the run made (about 20 ms of each run, issue 19)
        gc.freeze()


def _run_command(argv: list[str]) -> None:
    """Run ``argv``; always ends by raising SystemExit, as typer does."""
    from provisioner.cli.common import EXIT_INTERRUPTED
    from provisioner.cli.preload import import_pydantic
    from provisioner.command_line import parse
    from provisioner.command_line import run as run_simple

    simple = parse(argv)
    if simple is None:
        from provisioner.cli.app import app, app_for

        runs = app_for(argv)
        if runs is not app:  # a command: it parses flags and reads stacks through pydantic
            import_pydantic(with_typer=True)
        runs()
        return
    import_pydantic(with_typer=False)
    try:
        run_simple(simple)
    except KeyboardInterrupt:  # outside a command's own handling (user_errors)
        raise SystemExit(EXIT_INTERRUPTED) from None
    raise SystemExit(0)
