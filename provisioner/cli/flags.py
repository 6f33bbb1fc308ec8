"""The flags' typer declarations (``typer_flags``), imported when first named.

The modules of ``plan``, ``apply`` and ``validate`` annotate their parameters as
``flags.StackPath`` and so on: with ``from __future__ import annotations`` that
is a string, which typer evaluates when it builds the command, importing typer and
``typer_flags`` then. A run without typer (``provisioner/command_line.py``) never
evaluates it: typer's import is about 35 ms of a run (issue 19).
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from provisioner.cli.typer_flags import (
        AutoApproveOption,
        CapacityDestroyOption,
        CapacityJsonOption,
        DebugOption,
        DetailedOption,
        EnvOption,
        ExcludeOption,
        FormatOption,
        JsonOption,
        LockTimeoutOption,
        NoColorOption,
        ParallelismOption,
        PlanDestroyOption,
        PlanOutOption,
        RefreshOnlyOption,
        ReplaceOption,
        StackPath,
        StateBackendOption,
        StateOption,
        StatsOption,
        TargetOption,
        VarFileOption,
        VarOption,
        VerboseOption,
    )

    __all__ = ["AutoApproveOption", "CapacityDestroyOption", "CapacityJsonOption",
               "DebugOption", "DetailedOption", "EnvOption", "ExcludeOption",
               "FormatOption", "JsonOption", "LockTimeoutOption", "NoColorOption",
               "ParallelismOption", "PlanDestroyOption", "PlanOutOption",
               "RefreshOnlyOption", "ReplaceOption", "StackPath", "StateBackendOption",
               "StateOption", "StatsOption", "TargetOption", "VarFileOption", "VarOption",
               "VerboseOption"]


def __getattr__(name: str) -> object:
    if name.startswith("__"):  # a module attribute asked for by a tool, not a flag
        raise AttributeError(name)
    return getattr(import_module("provisioner.cli.typer_flags"), name)
