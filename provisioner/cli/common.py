"""Shared CLI pieces: output helpers, error handling, loading a stack (the flags'
declarations: ``typer_flags.py``). Typer is not imported: ``plan``, ``apply`` and
``validate`` also run without it (``provisioner/command_line.py``).

Heavy modules (pydantic models, networkx, providers) are imported inside the
functions that need them, so ``provisioner --help`` starts at once.
"""

from __future__ import annotations

import os
import sys
import traceback
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from provisioner.streams import write

if TYPE_CHECKING:
    from provisioner.core.address import Address
    from provisioner.engine import Engine
    from provisioner.plan.planner import PlanOptions
    from provisioner.stack.loader import Stack

EXIT_OK = 0
EXIT_ERROR = 1
EXIT_CHANGES = 2
EXIT_INTERRUPTED = 130

EXIT_CODES_HELP = (
    "Exit codes: 0 success (with --detailed-exitcode: no changes); 1 error; "
    "2 changes present (--detailed-exitcode only); 130 interrupted."
)


def use_color(no_color: bool) -> bool:
    return not no_color and "NO_COLOR" not in os.environ and sys.stdout.isatty()


def echo(text: str = "", *, err: bool = False) -> None:
    """Print a line; on stderr (errors, warnings: they may quote any value of a stack)
    with control characters escaped, so a value cannot move the cursor or recolour
    the terminal."""
    if err:
        from provisioner.stack.host_text import terminal_safe

        text = terminal_safe(text)
    write(sys.stderr if err else sys.stdout,
          text if text.endswith("\n") or not text else text + "\n")


def note_no_change(engine: Engine) -> None:
    """Tell the quick check (provisioner/quick) that this run's plan has nothing to
    change, and how each provider's host can be read again quickly."""
    from provisioner.quick.session import saw_no_change

    saw_no_change(provider.quick_probe() for provider in engine.providers().values())


def note_changes() -> None:
    """Tell the quick check that this run's plan has changes: it stops recording
    what the run reads (an apply's reads are not a plan's)."""
    from provisioner.quick.session import saw_changes

    saw_changes()


@contextmanager
def user_errors(debug: bool) -> Iterator[None]:
    """Print provisioner errors without a traceback (unless --debug) and exit 1."""
    debug = debug or os.environ.get("PROVISIONER_DEBUG") == "1"
    try:
        yield
    except SystemExit:
        raise
    except KeyboardInterrupt:
        echo("Interrupted.", err=True)
        raise SystemExit(EXIT_INTERRUPTED) from None
    except Exception as exc:
        from provisioner.errors import ProvisionerError

        if debug:
            traceback.print_exc()
        if isinstance(exc, ProvisionerError):
            echo(f"Error: {exc.message}", err=True)
            if exc.hint:
                echo(f"  hint: {exc.hint}", err=True)
        else:
            echo(f"Error: internal error: {type(exc).__name__}: {exc}", err=True)
            if not debug:
                echo("  hint: run again with --debug for the traceback, and report it", err=True)
        raise SystemExit(EXIT_ERROR) from None


def load(path: Path, var: list[str] | None, var_file: list[Path] | None,
         secrets: Literal["all", "state", "none"] = "all", *, env: str | None = None,
         state: Path | None = None, state_backend: str | None = None) -> Stack:
    """The stack at ``path``; ``secrets``: which the command needs, ``all`` (it connects
    to hypervisors), ``state`` (it opens only the state store) or ``none``. ``env``:
    ``--env``; ``state``, ``state_backend``: where other stacks' outputs are read
    (``${stack.NAME.outputs.X}``: by every command, only when the stack has one)."""
    from provisioner.collector import resume
    from provisioner.stack.loader import load_stack
    from provisioner.stack.secrets import Secrets
    from provisioner.stack.variables import VariableInputs
    from provisioner.state.other_outputs import outputs_source

    root = path if path.is_dir() else path.parent
    loaded = load_stack(path, VariableInputs(tuple(var or ()), tuple(var_file or ())),
                        secrets=Secrets(secrets), environment=env,
                        outputs_from=outputs_source(root.resolve(), state, state_backend))
    resume()  # start-up is over (provisioner/collector.py)
    return loaded


def parse_addresses(texts: list[str] | None, flag: str,
                    stack: Stack | None = None) -> frozenset[Address]:
    """Addresses from the command line; a declared name with ``count`` or ``for_each``
    means all its instances (``guests.web`` → ``guests.web-0``, ``guests.web-1``, ...), a
    module instance (``module.k8s``) every resource in it."""
    from provisioner.core.address import Address
    from provisioner.errors import UsageError

    addresses: set[Address] = set()
    for text in texts or []:
        path = module_path(text)
        if path is not None:
            inside = [r.address for r in stack.resources
                      if r.address.module[:len(path)] == path] if stack else []
            if stack and not inside:
                raise UsageError(f"{flag} {text}: the stack has no module {text}")
            addresses.update(inside)
            continue
        try:
            address = Address.parse(text)
        except ValueError as exc:
            raise UsageError(f"{flag} {text}: {exc}") from None
        if stack:
            address = stack.declared_as.get(address, address)
        addresses.update(stack.groups.get(address, [address]) if stack else [address])
    return frozenset(addresses)


def module_path(text: str) -> tuple[str, ...] | None:
    """``module.k8s.module.db`` → ("k8s", "db"); None for anything else."""
    import re

    if not re.fullmatch(r"(module\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)(\.module\.[a-z0-9]"
                        r"([a-z0-9-]*[a-z0-9])?)*", text):
        return None
    return tuple(text.split(".")[1::2])


def plan_options(stack: Stack, *, destroy: bool = False, replace: list[str] | None = None,
                 target: list[str] | None = None,
                 exclude: list[str] | None = None) -> PlanOptions:
    from provisioner.plan.planner import PlanOptions

    return PlanOptions(destroy=destroy,
                       replace=parse_addresses(replace, "--replace", stack),
                       targets=parse_addresses(target, "--target", stack),
                       excludes=parse_addresses(exclude, "--exclude", stack))
