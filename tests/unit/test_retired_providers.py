"""Discontinued hypervisors: `provisioner providers` lists them as not supported with the
reason and the successor, and a stack naming one is refused with the same words; the
virtualbox and hyperv providers say what they need to run."""

from __future__ import annotations

from pathlib import Path

import pytest

from provisioner.cli.info import providers
from provisioner.errors import StackError
from provisioner.stack.loader import load_stack


def test_providers_lists_the_discontinued_ones_and_what_virtualbox_needs(
        capsys: pytest.CaptureFixture[str]) -> None:
    providers()
    lines = {line.split()[0]: line for line in capsys.readouterr().out.splitlines()}
    assert "not supported" in lines["oraclevm"]
    assert "2021" in lines["oraclevm"] and "Oracle Linux Virtualization Manager" in \
        lines["oraclevm"]
    assert "not supported" in lines["virtualpc"] and "Hyper-V" in lines["virtualpc"]
    assert "Windows 7" in lines["virtualpc"]
    assert "VBoxManage" in lines["virtualbox"]
    assert "pip install" not in lines["virtualbox"]
    assert "PowerShell" in lines["hyperv"] and "WinRM" in lines["hyperv"]


@pytest.mark.parametrize(("type_name", "successor"), [
    ("oraclevm", "Oracle Linux Virtualization Manager"), ("virtualpc", "Hyper-V")])
def test_a_stack_naming_a_discontinued_hypervisor_is_refused(
        type_name: str, successor: str, tmp_path: Path) -> None:
    stack = tmp_path / "stack.yaml"
    stack.write_text(f"apiVersion: provisioner/v1\nstack: old\nproviders:\n"
                     f"  legacy: {{type: {type_name}}}\n", encoding="utf-8")
    with pytest.raises(StackError) as failure:
        load_stack(stack)
    (problem,) = failure.value.problems
    assert "is not supported" in problem.message
    assert successor in problem.hint
