"""The plan is a promise: for every updatable field of every provider, what the plan
says (in place, requires restart) is what the hypervisor sees. See ``honesty.py``."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest

from contract.honesty import check_every_edit, owning_pattern, updatable_patterns
from contract.targets import ContractTarget, Hypervisor
from provisioner.providers.base import Provider


def test_every_updatable_field_has_an_edit(target: ContractTarget, provider: Provider) -> None:
    """The check is driven by the provider's field table: a field that updates without
    an edit in the target's ``field_edits`` fails here until one is written."""
    kinds = provider.schema().kinds
    missing = {}
    for kind in sorted(target.honesty_kinds & set(kinds), key=lambda k: k.rank):
        covered = {owning_pattern(kinds[kind], edit.path) for edit in target.field_edits
                   if edit.kind is kind}
        left = [p for p in updatable_patterns(kinds[kind])
                if p not in covered and f"{kind.value}.{p}" not in target.honesty_untestable]
        if left:
            missing[kind.value] = left
    assert missing == {}, "updatable fields with no edit in the target's field_edits"
    labels = Counter((edit.kind, edit.path, edit.stopped) for edit in target.field_edits)
    assert [label for label, count in labels.items() if count > 1] == []


def test_the_plan_says_what_the_hypervisor_sees(
    target: ContractTarget, hypervisor: Hypervisor, provider: Provider, tmp_path: Path,
    subtests: pytest.Subtests,
) -> None:
    """One case per edit: apply, change the field alone, plan, apply while the hypervisor
    records power operations, compare its raw definitions before and after."""
    check_every_edit(target, hypervisor, provider, tmp_path, subtests)
