"""The provider contract suite: one set of tests every provider passes (see targets.py)."""
