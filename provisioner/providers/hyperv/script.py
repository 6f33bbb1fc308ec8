"""The PowerShell scripts the provider runs: a fixed header, then one statement per line.

Hyper-V is driven by scripts, never by text pasted into a command line. Every
script is written here, in one small regular form that a reader (and the test
fake, tests/support/hyperv) can check line by line:

- the header: ``$ErrorActionPreference = 'Stop'`` (the first failing cmdlet ends
  the script with its error) and ``$ProgressPreference = 'SilentlyContinue'``;
- a change: ``[$vm = ][Get-VM -Id 'GUID' | ]Cmdlet -Param VALUE ...``, where a
  VALUE is a single-quoted string, an integer, ``$true`` or ``$false``, and a
  switch is a bare ``-Force``; ``$vm.Id.ToString()`` prints a new VM's id;
- a read: a comment ``# read: WHAT`` and the pipeline that answers it as JSON.

Values are never interpolated: ``literal`` quotes a string in single quotes, in
which PowerShell expands nothing, doubling every quote character PowerShell
takes for one (the ASCII quote and the typographic ones U+2018 to U+201B). A line break
cannot be written in that form, so text holding a control character is refused
(``ValueError``) before any script is run. Pure.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

HEADER = ("$ErrorActionPreference = 'Stop'", "$ProgressPreference = 'SilentlyContinue'")
QUOTES = "'\u2018\u2019\u201a\u201b"
"""The characters PowerShell ends a single-quoted string at (each doubled inside one)."""
NEW_VM = "$vm"


class Switch:
    """A switch parameter (``-Force``): present, without a value."""

    def __repr__(self) -> str:
        return "SWITCH"


SWITCH = Switch()
Value = str | int | bool | Switch


def literal(text: str) -> str:
    """``text`` as a single-quoted PowerShell string. Raises ValueError on a control
    character (a line break would end the statement)."""
    if any(ord(char) < 32 or ord(char) == 127 for char in text):
        raise ValueError(f"{text!r} holds a control character, which a Hyper-V script "
                         "cannot carry")
    for quote in QUOTES:
        text = text.replace(quote, quote * 2)
    return f"'{text}'"


def value(given: Value) -> str:
    if isinstance(given, bool):
        return "$true" if given else "$false"
    if isinstance(given, int):
        return str(given)
    if isinstance(given, Switch):
        return ""
    return literal(given)


Stage = tuple[str, Mapping[str, Value]]


def stage(cmdlet: str, params: Mapping[str, Value]) -> str:
    return " ".join([cmdlet, *(f"-{name} {value(given)}".rstrip()
                               for name, given in params.items())])


def statement(cmdlet: str, params: Mapping[str, Value], *, vm: str | None = None,
              via: Stage | None = None, assign: bool = False) -> str:
    """One line: ``cmdlet`` with ``params``, on the VM with id ``vm`` (``Get-VM -Id``)
    or on the VM just made (``NEW_VM``), through ``via`` (a cmdlet picking a device of
    the VM, ``Get-VMNetworkAdapter -Name 'net0'``); ``assign`` keeps the result in
    ``$vm``."""
    stages = []
    if vm == NEW_VM:
        stages.append(NEW_VM)
    elif vm is not None:
        stages.append(stage("Get-VM", {"Id": vm}))
    if via is not None:
        stages.append(stage(*via))
    stages.append(stage(cmdlet, params))
    line = " | ".join(stages)
    return f"{NEW_VM} = {line}" if assign else line


@dataclass
class Script:
    """A script being written: the header, then its lines."""

    lines: list[str] = field(default_factory=list)

    def call(self, cmdlet: str, vm: str | None = None, via: Stage | None = None,
             **params: Value) -> Script:
        return self.add(cmdlet, params, vm=vm, via=via)

    def add(self, cmdlet: str, params: Mapping[str, Value], *, vm: str | None = None,
            via: Stage | None = None) -> Script:
        self.lines.append(statement(cmdlet, params, vm=vm, via=via))
        return self

    def new_vm(self, **params: Value) -> Script:
        self.lines.append(statement("New-VM", params, assign=True))
        return self

    def print_new_id(self) -> Script:
        self.lines.append(f"{NEW_VM}.Id.ToString()")
        return self

    def text(self) -> str:
        return "\n".join((*HEADER, *self.lines)) + "\n"

    def __bool__(self) -> bool:
        return bool(self.lines)


def read_script(what: str, pipeline: str) -> str:
    """A read: the header, ``# read: WHAT`` and the pipeline printing its JSON."""
    return "\n".join((*HEADER, f"# read: {what}", pipeline)) + "\n"
