"""Defaults of an apply that the CLI shows in ``--help``: a module that imports
nothing, so the CLI starts without loading the executor."""

DEFAULT_PARALLELISM = 8
"""Most provider calls at once (``--parallelism``); each provider also has its own limit."""
