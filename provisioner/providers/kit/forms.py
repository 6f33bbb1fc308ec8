"""Checks the plugin descriptors' settings models share (light: pydantic only).

``matching`` checks a setting's form with a validator rather than a schema
pattern, so that an editor still accepts ``${var.NAME}`` in its place;
``sorted_set`` keeps a list that is a set on the hypervisor (tags) sorted and
without repeats, so the order written never shows as a change.
"""

from __future__ import annotations

import re
from collections.abc import Callable


def matching(pattern: str, example: str) -> Callable[[str], str]:
    """A validator refusing a value ``pattern`` does not match: "'x' is not of the form
    EXAMPLE"."""
    compiled = re.compile(pattern)

    def check(value: str) -> str:
        if not compiled.match(value):
            raise ValueError(f"'{value}' is not of the form {example}")
        return value

    return check


def sorted_set(values: list[str]) -> list[str]:
    return sorted(set(values))
