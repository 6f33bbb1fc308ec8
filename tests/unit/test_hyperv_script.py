"""The scripts the hyperv provider writes: one regular form, values always quoted.

Hostile names (quotes of every kind PowerShell knows, ``;``, ``$(...)``, a pipe)
reach the fake PowerShell's parser as the very same text, and a line break is
refused before any script exists."""

from __future__ import annotations

import pytest
from support.hyperv.syntax import ParseError, parse

from provisioner.providers.hyperv.listing import INVENTORY, one_vm
from provisioner.providers.hyperv.script import HEADER, NEW_VM, SWITCH, Script, literal

pytestmark = pytest.mark.unit
HOSTILE = ["it's", "a\u2019b\u2018c\u201ad\u201be", "x'; Remove-VM -Force; '", "$(Stop-Computer)",
           "`$env:PATH` | Out-File x", "''", "plain"]


@pytest.mark.parametrize("name", HOSTILE)
def test_a_hostile_value_arrives_as_written(name: str) -> None:
    script = Script().new_vm(Name=name, Generation=2, NoVHD=SWITCH)
    script.call("Set-VM", vm=NEW_VM, Notes=name).print_new_id()
    parsed = parse(script.text())
    first, second, third = parsed.statements
    assert first.assign and first.stages[0].params == {"Name": name, "Generation": 2,
                                                       "NoVHD": None}
    assert second.stages[0].cmdlet == "$vm" and second.stages[1].params == {"Notes": name}
    assert third.print_id


@pytest.mark.parametrize("text", ["a\nb", "a\rb", "tab\there", "nul\x00"])
def test_a_control_character_is_refused_before_any_script(text: str) -> None:
    with pytest.raises(ValueError, match="control character"):
        literal(text)


def test_a_statement_on_a_vm_by_id_through_a_device() -> None:
    script = Script().call("Connect-VMNetworkAdapter", vm="5c1e-01",
                           via=("Get-VMNetworkAdapter", {"Name": "net0"}), SwitchName="LAN")
    assert script.text().splitlines() == [*HEADER, "Get-VM -Id '5c1e-01' | Get-VMNetworkAdapter "
                                          "-Name 'net0' | Connect-VMNetworkAdapter -SwitchName "
                                          "'LAN'"]
    assert script.text().endswith("\n") and Script().text().splitlines() == list(HEADER)


def test_reads_carry_their_name_and_quote_the_id() -> None:
    assert parse(INVENTORY).read == "inventory"
    assert parse(one_vm("ab'c")).read == "vm 'ab''c'"
    assert "ConvertTo-Json" in INVENTORY and "Get-VHD" in INVENTORY


@pytest.mark.parametrize("line", ["Start-VM -Name $name", "Start-VM -Name 'a' ; Stop-VM",
                                  "Start-VM -Name \"a\"", "Invoke-Expression -Command 'x' (1)",
                                  "Start-VM -Name 'unclosed"])
def test_the_fake_refuses_anything_outside_the_form(line: str) -> None:
    with pytest.raises(ParseError):
        parse("\n".join((*HEADER, line)))
