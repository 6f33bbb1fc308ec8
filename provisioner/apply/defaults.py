"""Defaults of an apply that the CLI shows in ``--help``: a module that imports
nothing, so the CLI starts without loading the executor."""

DEFAULT_PARALLELISM = 10
"""Most provider calls at once (``--parallelism``; 10, as Terraform); each provider also
has its own limit."""
