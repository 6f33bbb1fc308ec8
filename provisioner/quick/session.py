"""The quick check around one run of ``plan``, ``apply`` or ``validate``.

Before anything else is imported, ``attempt`` looks for the receipt of this
command line. If its key matches (same command, directory, environment, code),
every input reads the same as when it was written, no state is locked by
another run, and every provider's quick read (``probes``) reads the same host,
the run prints what the receipt's run printed and exits: nothing the plan reads
has changed, so the plan would be the same, with nothing to do. (``validate``
reads no host: its receipt has no probes.)

Otherwise the command runs as always, recorded (``inputs.Recorder``). If it
found nothing to change (``saw_no_change``, from the command) and exits 0, having
read nothing beyond this machine's files and its providers' hosts, the receipt is
written at its end: confirmed if the providers read the same before the plan
(when a receipt's key matched, its probes were read then) and after it.
"""

from __future__ import annotations

import os
import sys
from typing import TYPE_CHECKING

from provisioner.command_line import parse
from provisioner.quick.receipt import Receipt, full_digest, load, location, run_key, save
from provisioner.streams import write

if TYPE_CHECKING:
    from collections.abc import Iterable

    from provisioner.quick.inputs import Recorder

PROBES = {"libvirt": "provisioner.quick.probe_libvirt"}
"""Provider kind → the module whose ``digest(params)`` is its quick read."""
UNSEEN_CLIENTS = frozenset({"psycopg", "psycopg2", "psycopg_c", "psycopg_binary"})
"""Libraries whose connections open in C, out of the audit hooks' sight: a run that
loaded one (a state, or another stack's, in PostgreSQL) gets no receipt."""
NOTHING_TO_KEEP = "the plan has changes, a provider has no quick read, or the run failed"
STATE_DIRECTORY = ".provisioner"
"""A stack's default state directory (``provisioner.state.backends``; a test checks)."""
SWITCH = "PROVISIONER_QUICK"
"""``0``: every plan in full, no receipt read or written; ``explain``: say on stderr
whether the receipt answered, and if not why."""

Probe = tuple[str, dict[str, str]]


def eligible(argv: list[str]) -> bool:
    """A plan, apply or validate of one stack with only the flags the quick check
    knows: the command lines that also run without typer (``command_line.parse``)."""
    return parse(argv) is not None


def state_directory(argv: list[str]) -> str | None:
    """The stack's default state directory, for a plan or apply (validate keeps its
    receipts in the user's cache: it does not write in a stack's directory)."""
    command = parse(argv)
    if command is None or command.name == "validate":
        return None
    stack = command.stack or "."
    base = os.path.dirname(stack) if os.path.isfile(stack) else stack
    return os.path.join(base, STATE_DIRECTORY)


def readings(probes: Iterable[Probe]) -> list[str] | None:
    """Each probe's digest; None if one cannot be read (the plan will say why)."""
    from importlib import import_module

    found = []
    for kind, params in probes:
        try:
            found.append(import_module(PROBES[kind]).digest(params))
        except Exception:  # any failure: run the plan, which reports it
            return None
    return found


def locks_free(databases: Iterable[str]) -> bool:
    """No other run holds the lock of any state read (an apply may be under way)."""
    import fcntl

    for database in databases:
        try:
            descriptor = os.open(database + ".lock", os.O_RDONLY)
        except FileNotFoundError:
            continue
        except OSError:
            return False
        try:
            fcntl.flock(descriptor, fcntl.LOCK_SH | fcntl.LOCK_NB)
        except OSError:
            return False
        finally:
            os.close(descriptor)
    return True


class QuickRun:
    """One eligible run: its receipt, and what it records if it runs in full."""

    def __init__(self, argv: list[str]) -> None:
        self.path = location(argv, state_directory(argv))
        self.key = run_key(argv)
        self.before: tuple[list[Probe], list[str]] | None = None
        """The probes read before the plan, and what they read."""
        self.recorder: Recorder | None = None
        """What the run reads, when it records (``inputs`` is imported then)."""
        self.output: list[tuple[str, str]] = []
        self.probes: list[Probe] | None = None
        """Set by the command when its plan found nothing to change."""
        self.why = ""
        self.recording = False
        """Whether this run records its inputs: only when a receipt of its key exists.
        A first run leaves a mark (its probes, no inputs) and costs nothing more: the
        first apply of a stack, a converge, is not slowed down."""

    def replay(self) -> int | None:
        """The exit code, having printed the receipt's output, if it holds now; else
        None, and ``why`` says which part did not."""
        receipt = load(self.path)
        if receipt is None or receipt.key != self.key:
            self.why = ("no receipt" if receipt is None else
                        "the command, directory, environment or code differ from the receipt's")
            return None
        self.recording = True
        read = readings(receipt.probes)
        if read is None:
            self.why = "a provider's host could not be read quickly"
            return None
        self.before = (receipt.probes, read)
        if not receipt.confirmed:
            self.why = "the receipt is not confirmed yet (this run confirms it)"
        elif not locks_free(receipt.inputs.get("databases", [])):
            self.why = "another run holds the state's lock"
        elif full_digest(self.key, _current_inputs(receipt.inputs), read) != receipt.digest:
            self.why = "a file, variable, state or host the run reads has changed"
        else:
            for stream, text in receipt.output:
                write(sys.stdout if stream == "out" else sys.stderr, text)
            return receipt.exit
        return None

    def start(self) -> None:
        from provisioner import streams

        if self.recording:
            from provisioner.quick.inputs import Recorder

            streams.copies = self.output
            self.recorder = Recorder()
            self.recorder.start()

    def conclude(self, exit_code: int) -> None:
        """Write the receipt, or the mark of a first run, if this run may have one
        (see the module)."""
        from provisioner import streams

        if self.recorder is not None:
            self.recorder.stop()
        streams.copies = None
        why = self._no_receipt(exit_code) if self.recording else self._mark(exit_code)
        if why and os.environ.get(SWITCH) == "explain":
            write(sys.stderr, f"quick check: no receipt written: {why}\n")

    def _mark(self, exit_code: int) -> str:
        """A first run with nothing to change: a receipt with the probes alone, never
        used to answer; the next run records and confirms it."""
        if exit_code != 0 or self.probes is None:
            return NOTHING_TO_KEEP
        save(self.path, Receipt(self.key, {}, self.probes, "", False, [], exit_code))
        return ""

    def _no_receipt(self, exit_code: int) -> str:
        """Why no receipt is written ("" when it is)."""
        if exit_code != 0 or self.probes is None or self.recorder is None:
            return NOTHING_TO_KEEP
        if self.recorder.refused:
            return f"the run reached beyond files and hosts ({self.recorder.refused})"
        if any(name.partition(".")[0] in UNSEEN_CLIENTS for name in sys.modules):
            return "the run loaded a client whose reads are not seen (PostgreSQL)"
        recorded = self.recorder.inputs
        paths = {kind: sorted(found) for kind, found in recorded.items()}
        if _current_inputs(paths) != recorded:
            return "an input changed while the run read it"
        if not locks_free(paths["databases"]):
            return "another run holds the state's lock"
        read = readings(self.probes)
        if read is None:
            return "a provider's host could not be read quickly"
        save(self.path, Receipt(self.key, paths, self.probes,
                                full_digest(self.key, recorded, read),
                                not self.probes or self.before == (self.probes, read),
                                self.output, exit_code))
        return ""


def _current_inputs(paths: dict[str, list[str]]) -> dict[str, dict[str, str]]:
    """What each input reads now (``inputs.current``)."""
    from provisioner.quick.inputs import current

    return current(paths)


_current: QuickRun | None = None


def attempt(argv: list[str]) -> tuple[QuickRun | None, int | None]:
    """(the run to record, None) or (None, the exit code of a run answered from
    its receipt), or (None, None) for a command line the quick check leaves alone."""
    global _current
    if os.environ.get(SWITCH) == "0" or not eligible(argv):
        return None, None
    run = QuickRun(argv)
    code = run.replay()
    if os.environ.get(SWITCH) == "explain":
        write(sys.stderr, "quick check: " + (
            "answered from the receipt\n" if code is not None
            else f"running in full: {run.why}\n"))
    if code is not None:
        return None, code
    _current = run
    return run, None


def saw_no_change(probes: Iterable[Probe | None]) -> None:
    """The command's plan has nothing to change; ``probes``: each provider's quick
    read (None where a provider has none, and then no receipt is written)."""
    if _current is None:
        return
    listed = list(probes)
    _current.probes = None if any(probe is None for probe in listed) else [
        p for p in listed if p is not None]


def saw_changes() -> None:
    """The command's plan has changes: no receipt, and nothing more to record."""
    if _current is not None:
        if _current.recorder is not None:
            _current.recorder.stop()
        _current.probes = None
