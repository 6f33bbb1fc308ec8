"""Files written by the real sops (fixtures/sops/README.md) and PGP recipients
through a throwaway gpg keyring."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from support.gnupg import gnupg_home, import_key, new_key
from support.sops_writer import SopsWriter

from provisioner.sops import SopsError
from provisioner.sops.keys import data_key
from provisioner.sops.tree import decrypt_document
from provisioner.stack.encrypted import read_maybe_encrypted

FIXTURES = Path(__file__).parent / "fixtures" / "sops"


def test_the_example_written_by_sops_decrypts_and_its_mac_holds() -> None:
    data = yaml.safe_load((FIXTURES / "example.yaml").read_text())
    with gnupg_home() as env:
        import_key(env, FIXTURES / "sops_functional_tests_key.asc")
        result = decrypt_document(data, data_key(data["sops"], env))
    tree = result.data
    assert tree["app2"]["db"]["user"] == "eve"
    assert tree["number"] == 1234568000.0 and isinstance(tree["number"], float)
    assert tree["somebooleans"] == [True, False]
    assert tree["this"]["is"]["a"]["nested"]["value"] == "with something secret in it"
    assert tree["somelist_unencrypted"][0] == "all elements of this list"
    assert ("an_array", 2) in result.decrypted
    assert not any(path[0].endswith("_unencrypted") for path in result.decrypted)


def test_a_value_of_the_sops_example_changed_breaks_the_mac(tmp_path: Path) -> None:
    text = (FIXTURES / "example.yaml").read_text().replace(
        "remain in clear text", "remain in clear text!")
    (tmp_path / "example.yaml").write_text(text)
    with gnupg_home() as env:
        import_key(env, FIXTURES / "sops_functional_tests_key.asc")
        data = yaml.safe_load(text)
        with pytest.raises(SopsError, match="MAC does not match"):
            decrypt_document(data, data_key(data["sops"], env))


def test_pgp_round_trip_through_gpg(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    with gnupg_home() as env:
        fingerprint = new_key(env)
        writer = SopsWriter(pgp=[fingerprint], gnupghome=env["GNUPGHOME"])
        (tmp_path / "vars.yaml").write_text(writer.dump({"password": "from-pgp"}))
        monkeypatch.setenv("GNUPGHOME", env["GNUPGHOME"])
        document = read_maybe_encrypted(tmp_path / "vars.yaml")
    assert document.problems == []
    assert document.data == {"password": "from-pgp"}


def test_without_the_pgp_secret_key_the_error_names_the_fingerprint(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    with gnupg_home() as env:
        fingerprint = new_key(env)
        writer = SopsWriter(pgp=[fingerprint], gnupghome=env["GNUPGHOME"])
        (tmp_path / "vars.yaml").write_text(writer.dump({"password": "from-pgp"}))
    with gnupg_home() as empty:
        monkeypatch.setenv("GNUPGHOME", empty["GNUPGHOME"])
        for name in ("SOPS_AGE_KEY", "SOPS_AGE_KEY_FILE"):
            monkeypatch.delenv(name, raising=False)
        (problem,) = read_maybe_encrypted(tmp_path / "vars.yaml").problems
    assert fingerprint in problem.message and "no secret key" in problem.message
    assert "gpg --import" in problem.hint
    assert "from-pgp" not in problem.render()
