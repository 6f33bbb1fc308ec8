"""Stack files and var-files encrypted with SOPS (age): values, keys, positions,
sensitivity, and every refusal naming the file, the line and the key path."""

from __future__ import annotations

from pathlib import Path
from textwrap import dedent
from typing import Any

import pytest
import yaml
from support.sops_writer import SopsWriter, new_identity

from provisioner.core.address import Address, Kind
from provisioner.errors import StackError
from provisioner.stack.loader import Stack, load_stack
from provisioner.stack.variables import VariableInputs

SECRET = "s3cr3t-${not}-an-expression"
STACK = """\
apiVersion: provisioner/v1
stack: lab
variables:
  root_password: {type: string}
  cpus: {type: integer, default: 1}
providers:
  kvm: {type: libvirt, uri: "test:///default", password: "${var.root_password}"}
guests:
  web: {provider: kvm, memory: 256MiB, cpus: "${var.cpus}"}
"""


@pytest.fixture
def age_key(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    """A test age identity in SOPS_AGE_KEY_FILE; its recipient."""
    identity, recipient = new_identity()
    (tmp_path / "keys.txt").write_text(f"# test key\n{identity}\n")
    for name in ("SOPS_AGE_KEY", "XDG_CONFIG_HOME"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.setenv("SOPS_AGE_KEY_FILE", str(tmp_path / "keys.txt"))
    return recipient


def write(path: Path, data: dict[str, Any], writer: SopsWriter) -> str:
    text = writer.dump(data)
    path.write_text(text)
    return text


def load(tmp_path: Path, var_files: tuple[str, ...] = ()) -> Stack:
    inputs = VariableInputs(files=[tmp_path / name for name in var_files])
    return load_stack(tmp_path / "stack.yaml", inputs, {}, cwd=tmp_path)


def refused(tmp_path: Path, var_files: tuple[str, ...] = ()) -> str:
    with pytest.raises(StackError) as raised:
        load(tmp_path, var_files)
    text = str(raised.value)
    assert SECRET not in text and "s3cr3t" not in text
    return text


def line_of(text: str, needle: str) -> int:
    return next(n for n, line in enumerate(text.splitlines(), 1) if needle in line)


def test_an_encrypted_var_file_gives_a_sensitive_variable(tmp_path: Path, age_key: str) -> None:
    (tmp_path / "stack.yaml").write_text(STACK)
    write(tmp_path / "secrets.yaml", {"root_password": SECRET, "cpus": 3},
          SopsWriter(age=[age_key], encrypted_regex="^root_password$"))
    stack = load(tmp_path, ("secrets.yaml",))
    assert stack.providers["kvm"].config.password.get_secret_value() == SECRET  # type: ignore[attr-defined]
    assert stack.variables == {"cpus": 3}  # the encrypted one is sensitive: never shown
    web = stack.resource(Address(Kind.GUEST, "web"))
    assert web is not None and web.spec["cpus"] == 3


def test_a_decrypted_variable_outside_a_secret_field_is_refused(
        tmp_path: Path, age_key: str) -> None:
    (tmp_path / "stack.yaml").write_text(STACK.replace("memory: 256MiB",
                                                       "memory: 256MiB, image: \"${var.image}\"")
                                         .replace("cpus: {", "image: {type: string}\n  cpus: {"))
    write(tmp_path / "secrets.yaml", {"root_password": SECRET, "image": SECRET},
          SopsWriter(age=[age_key]))
    text = refused(tmp_path, ("secrets.yaml",))
    assert "guests.web.image: the sensitive variable 'image' would be shown in plans" in text


def test_an_encrypted_stack_file_keeps_its_lines(tmp_path: Path, age_key: str) -> None:
    data = yaml.safe_load(STACK.replace('"${var.root_password}"', "x"))
    data["providers"]["kvm"]["password"] = SECRET
    data["guests"]["web"]["memroy"] = "1GiB"  # a typo, reported where the file has it
    text = write(tmp_path / "stack.yaml", data,
                 SopsWriter(age=[age_key], encrypted_regex="^password$"))
    problems = refused(tmp_path)
    assert f"stack.yaml:{line_of(text, 'memroy')}:" in problems
    assert "'memroy'" in problems and "root_password" in problems  # no value: reported too
    del data["guests"]["web"]["memroy"]
    data["variables"].pop("root_password")
    write(tmp_path / "stack.yaml", data, SopsWriter(age=[age_key], encrypted_regex="^password$"))
    stack = load(tmp_path)
    assert stack.providers["kvm"].config.password.get_secret_value() == SECRET  # type: ignore[attr-defined]


def test_an_encrypted_value_in_a_plain_field_is_refused_at_its_line(
        tmp_path: Path, age_key: str) -> None:
    data = yaml.safe_load(STACK.replace('password: "${var.root_password}"', "username: admin"))
    data["guests"]["web"]["image"] = SECRET
    del data["variables"]["root_password"]
    text = write(tmp_path / "stack.yaml", data,
                 SopsWriter(age=[age_key], encrypted_regex="^(password|image)$"))
    problems = refused(tmp_path)
    assert f"stack.yaml:{line_of(text, 'image:')}:" in problems
    assert "guests.web.image: this value is encrypted in the file (SOPS)" in problems
    assert "--encrypted-regex" in problems


def test_an_encrypted_default_makes_the_variable_sensitive(
        tmp_path: Path, age_key: str) -> None:
    data = yaml.safe_load(STACK)
    data["variables"]["root_password"]["default"] = SECRET
    writer = SopsWriter(age=[age_key], encrypted_regex="^root_password$")
    write(tmp_path / "stack.yaml", data, writer)
    stack = load(tmp_path)
    assert "root_password" not in stack.variables
    data["guests"]["web"]["image"] = "${var.root_password}"
    write(tmp_path / "stack.yaml", data, writer)
    assert "the sensitive variable 'root_password'" in refused(tmp_path)


@pytest.mark.parametrize("place", ["SOPS_AGE_KEY", "SOPS_AGE_KEY_FILE", "XDG_CONFIG_HOME",
                                   "HOME"])
def test_keys_are_found_where_sops_looks(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                         place: str) -> None:
    for name in ("SOPS_AGE_KEY", "SOPS_AGE_KEY_FILE", "XDG_CONFIG_HOME"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("HOME", str(tmp_path / "nobody"))
    identity, recipient = new_identity()
    other, _ = new_identity()
    if place == "SOPS_AGE_KEY":
        monkeypatch.setenv(place, f"{other} {identity}")
    elif place == "SOPS_AGE_KEY_FILE":
        (tmp_path / "k.txt").write_text(f"{other}\n\n# comment\n{identity}\n")
        monkeypatch.setenv(place, str(tmp_path / "k.txt"))
    else:
        config = tmp_path / ("xdg" if place == "XDG_CONFIG_HOME" else "home/.config")
        (config / "sops" / "age").mkdir(parents=True)
        (config / "sops" / "age" / "keys.txt").write_text(identity + "\n")
        monkeypatch.setenv(place, str(tmp_path / ("xdg" if place == "XDG_CONFIG_HOME"
                                                  else "home")))
    (tmp_path / "stack.yaml").write_text(STACK)
    write(tmp_path / "secrets.yaml", {"root_password": SECRET}, SopsWriter(age=[recipient]))
    assert load(tmp_path, ("secrets.yaml",)).variables == {"cpus": 1}


def test_without_a_matching_key_the_error_names_public_keys_only(
        tmp_path: Path, age_key: str, monkeypatch: pytest.MonkeyPatch) -> None:
    wrong, wrong_recipient = new_identity()
    (tmp_path / "keys.txt").write_text(wrong + "\n")
    (tmp_path / "stack.yaml").write_text(STACK)
    text = write(tmp_path / "secrets.yaml", {"root_password": SECRET},
                 SopsWriter(age=[age_key]))
    problems = refused(tmp_path, ("secrets.yaml",))
    assert f"secrets.yaml:{line_of(text, 'sops:')}:1: sops: SOPS file: cannot decrypt" \
        in problems
    assert age_key in problems and wrong_recipient in problems
    assert wrong not in problems and "SOPS_AGE_KEY_FILE" in problems
    monkeypatch.delenv("SOPS_AGE_KEY_FILE")
    assert "none found" in refused(tmp_path, ("secrets.yaml",))


def test_a_value_moved_to_another_key_is_refused_naming_it(tmp_path: Path, age_key: str) -> None:
    (tmp_path / "stack.yaml").write_text(STACK)
    writer = SopsWriter(age=[age_key])
    data = writer.encrypt({"root_password": SECRET, "cpus": 2})
    data["cpus"] = writer.value(b"4", "int", "root_password:")  # valid, for another key
    text = yaml.safe_dump(data, sort_keys=False, width=10_000)
    (tmp_path / "secrets.yaml").write_text(text)
    problems = refused(tmp_path, ("secrets.yaml",))
    assert f"secrets.yaml:{line_of(text, 'cpus:')}:7: cpus: SOPS file: this value does not " \
           "decrypt" in problems


@pytest.mark.parametrize("change", ["value", "lastmodified", "rules"])
def test_a_changed_file_breaks_the_mac(tmp_path: Path, age_key: str, change: str) -> None:
    (tmp_path / "stack.yaml").write_text(STACK)
    writer = SopsWriter(age=[age_key])
    data = writer.encrypt({"root_password": SECRET, "cpus_unencrypted": 2})
    if change == "value":
        data["cpus_unencrypted"] = 3
    elif change == "lastmodified":
        data["sops"]["lastmodified"] = "2026-01-02T03:04:06Z"
    else:
        data["sops"]["unencrypted_suffix"] = "_plain"  # now every value should be encrypted
    (tmp_path / "secrets.yaml").write_text(yaml.safe_dump(data, sort_keys=False))
    problems = refused(tmp_path, ("secrets.yaml",))
    assert {"value": "the MAC does not match", "lastmodified": "MAC does not decrypt",
            "rules": "this value is not encrypted"}[change] in problems


def test_cloud_kms_recipients_are_refused_with_the_next_step(tmp_path: Path) -> None:
    (tmp_path / "stack.yaml").write_text(STACK)
    data = SopsWriter().encrypt({"root_password": SECRET})
    data["sops"]["kms"] = [{"arn": "arn:aws:kms:eu-west-1:1:key/x", "enc": "AQICAH"}]
    data["sops"]["hc_vault"] = [{"vault_address": "https://vault", "enc": "vault:v1:x"}]
    (tmp_path / "secrets.yaml").write_text(yaml.safe_dump(data, sort_keys=False))
    problems = refused(tmp_path, ("secrets.yaml",))
    assert "encrypted only for kms, hc_vault: provisioner decrypts age and PGP" in problems
    assert "--add-age" in problems


def test_a_malformed_key_line_is_named_not_shown(tmp_path: Path, age_key: str) -> None:
    (tmp_path / "keys.txt").write_text("# keys\nAGE-SECRET-KEY-1NOTAKEY\n")
    (tmp_path / "stack.yaml").write_text(STACK)
    write(tmp_path / "secrets.yaml", {"root_password": SECRET}, SopsWriter(age=[age_key]))
    problems = refused(tmp_path, ("secrets.yaml",))
    assert "keys.txt: line 2 is not an age identity" in problems
    assert "NOTAKEY" not in problems


def test_a_plain_yaml_file_is_read_as_before(tmp_path: Path) -> None:
    (tmp_path / "stack.yaml").write_text(STACK)
    (tmp_path / "vars.yaml").write_text(dedent(f"""\
        root_password: "{SECRET}"
        sops: not a sops block
        """))
    assert "'sops' is not a declared variable" in refused(tmp_path, ("vars.yaml",))


@pytest.mark.parametrize("mac_only_encrypted", [False, True])
def test_with_mac_only_encrypted_clear_values_may_change(
        tmp_path: Path, age_key: str, mac_only_encrypted: bool) -> None:
    (tmp_path / "stack.yaml").write_text(STACK)
    writer = SopsWriter(age=[age_key], encrypted_regex="^root_password$",
                        mac_only_encrypted=mac_only_encrypted)
    text = writer.dump({"root_password": SECRET, "cpus": 2})
    (tmp_path / "secrets.yaml").write_text(text.replace("cpus: 2", "cpus: 5"))
    if mac_only_encrypted:
        assert load(tmp_path, ("secrets.yaml",)).variables == {"cpus": 5}
    else:
        assert "the MAC does not match" in refused(tmp_path, ("secrets.yaml",))


def test_a_missing_key_file_is_named(tmp_path: Path, age_key: str,
                                     monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SOPS_AGE_KEY_FILE", str(tmp_path / "absent.txt"))
    (tmp_path / "stack.yaml").write_text(STACK)
    write(tmp_path / "secrets.yaml", {"root_password": SECRET}, SopsWriter(age=[age_key]))
    assert f"SOPS_AGE_KEY_FILE={tmp_path / 'absent.txt'}: no such file" \
        in refused(tmp_path, ("secrets.yaml",))


def test_shamir_key_groups_are_refused(tmp_path: Path, age_key: str) -> None:
    (tmp_path / "stack.yaml").write_text(STACK)
    data = SopsWriter(age=[age_key]).encrypt({"root_password": SECRET})
    group = {"age": data["sops"].pop("age")}
    data["sops"] |= {"key_groups": [group, group], "shamir_threshold": 2}
    (tmp_path / "secrets.yaml").write_text(yaml.safe_dump(data, sort_keys=False))
    assert "key groups (Shamir secret sharing) are not supported" \
        in refused(tmp_path, ("secrets.yaml",))
    data["sops"] |= {"key_groups": [group], "shamir_threshold": 1}  # one group: as plain
    (tmp_path / "secrets.yaml").write_text(yaml.safe_dump(data, sort_keys=False))
    assert load(tmp_path, ("secrets.yaml",)).variables == {"cpus": 1}


def test_a_stack_without_sops_files_does_not_load_the_cryptography(tmp_path: Path) -> None:
    """Every command reads a stack; only a SOPS file needs ``cryptography`` (a fifth of
    about 20 ms of a plain ``validate``'s start-up went to importing it)."""
    import subprocess
    import sys

    (tmp_path / "stack.yaml").write_text(
        "apiVersion: provisioner/v1\nstack: plain\n"
        "providers:\n  kvm: {type: libvirt, uri: \"test:///default\"}\n")
    code = ("import sys; from pathlib import Path; "
            "from provisioner.stack.loader import load_stack; "
            f"load_stack(Path({str(tmp_path)!r}), environ={{}}); "
            "print(sorted(m for m in sys.modules if m.startswith(('cryptography', "
            "'provisioner.sops'))))")
    child = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                           timeout=60, check=False)
    assert child.returncode == 0, child.stderr
    assert child.stdout.strip() == "[]"
