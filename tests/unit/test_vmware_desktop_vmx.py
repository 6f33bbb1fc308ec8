"""The VMX reader/writer: VMware's escaping, keys without case, and every entry a user or
VMware wrote kept through an edit."""

from __future__ import annotations

from pathlib import Path

from provisioner.providers.vmware_desktop.vmx import Vmx, escape, unescape

TRANSCRIPTS = Path(__file__).parent / "vmware_desktop_transcripts"


def test_special_characters_are_written_as_pipe_and_hex() -> None:
    assert escape('say "hi" | #1\n') == "say |22hi|22 |7C |231|0A"
    assert unescape("say |22hi|22 |7c |231|0A") == 'say "hi" | #1\n'
    assert unescape("no|escape|zz") == "no|escape|zz"


def test_a_value_round_trips_whatever_it_holds() -> None:
    vmx = Vmx({"guestinfo.x": '{"a":"b|c # d"}\t\u00e9'})
    assert Vmx.parse(vmx.text())["guestinfo.x"] == '{"a":"b|c # d"}\t\u00e9'


def test_keys_are_one_whatever_their_case_and_keep_the_case_first_written() -> None:
    vmx = Vmx.parse('memSize = "512"\nMEMSIZE = "1024"\n')
    assert vmx["memsize"] == "1024" and "MemSize" in vmx
    vmx["memsize"] = "2048"
    assert vmx.text().splitlines()[1] == 'memSize = "2048"'


def test_encoding_comes_first_and_comments_are_dropped() -> None:
    text = Vmx.parse('# made by hand\nnumvcpus = "2"\n.encoding = "windows-1252"\n').text()
    assert text == '.encoding = "UTF-8"\nnumvcpus = "2"\n'


def test_an_edit_keeps_every_entry_it_does_not_touch_in_order() -> None:
    original = (TRANSCRIPTS / "workstation-17.5.vmx").read_text(encoding="utf-8")
    vmx = Vmx.parse(original)
    vmx.update({"numvcpus": "4", "scsi0:1.present": None})
    vmx.drop_prefix("ethernet1.")
    edited = vmx.text().splitlines()
    kept = [line for line in original.splitlines()
            if not line.startswith(("numvcpus", "scsi0:1.present", "ethernet1."))]
    assert [line for line in edited if not line.startswith("numvcpus")] == kept
    assert 'numvcpus = "4"' in edited
    assert Vmx.parse(vmx.text())["displayName"] == 'Ana"s Debian # 12'


def test_unquoted_and_malformed_lines() -> None:
    vmx = Vmx.parse('ide1:0.fileName = \nodd line\nsound.present = TRUE\n')
    assert vmx.get("ide1:0.fileName") == "" and vmx.flag("sound.present")
    assert "odd line" not in vmx
