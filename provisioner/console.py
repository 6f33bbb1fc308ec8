"""The console script. The quick check (``provisioner/quick``) goes first, on the
standard library alone: a re-run it can answer does not import the command line."""

from __future__ import annotations

import os
import sys


def prepare_environment() -> None:
    """pydantic looks for its own plugins (an entry-point scan) when it builds each
    validator; a command-line run has none to use."""
    os.environ.setdefault("PYDANTIC_DISABLE_PLUGINS", "__all__")


def main() -> None:
    from provisioner.code_cache import install
    from provisioner.collector import pause

    pause()  # until the stack is loaded (provisioner/collector.py)
    from provisioner.quick.session import attempt
    from provisioner.streams import ensure_standard_streams, lost_output

    ensure_standard_streams()
    prepare_environment()  # before the quick check, which compares the environment
    quick, answered = attempt(sys.argv[1:])
    if answered is not None:
        raise SystemExit(1 if answered == 0 and lost_output() is not None else answered)
    install()  # before the command line's dataclasses are made (provisioner/code_cache.py)
    from provisioner.cli import run

    run(quick)
