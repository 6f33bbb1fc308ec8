"""The age format: the reader against the spec's vectors, the real `age` tool and
a stanza written by the real sops; tampering and wrong keys refused."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest
from support.sops_writer import age_encrypt, new_identity

from provisioner.sops import bech32
from provisioner.sops.age import AgeError, Identity, NoMatchingIdentity, dearmor, decrypt

SPEC_IDENTITY = "AGE-SECRET-KEY-1GFPYYSJZGFPYYSJZGFPYYSJZGFPYYSJZGFPYYSJZGFPYYSJZGFPQ4EGAEX"
SPEC_RECIPIENT = "age1zvkyg2lqzraa2lnjvqej32nkuu0ues2s82hzrye869xeexvn73equnujwj"
# From getsops/sops age/keysource_test.go (MPL-2.0): a data key ("data") wrapped by
# sops for its published mock identity; see tests/unit/fixtures/sops/README.md.
SOPS_IDENTITY = "AGE-SECRET-KEY-1G0Q5K9TV4REQ3ZSQRMTMG8NSWQGYT0T7TZ33RAZEE0GZYVZN0APSU24RK7"
SOPS_RECIPIENT = "age1lzd99uklcjnc0e7d860axevet2cz99ce9pq6tzuzd05l5nr28ams36nvun"
SOPS_STANZA = """-----BEGIN AGE ENCRYPTED FILE-----
YWdlLWVuY3J5cHRpb24ub3JnL3YxCi0+IFgyNTUxOSBvY2t2NkdLUGRvY3l2OGNy
MVJWcUhCOEZrUG8yeCtnRnhxL0I5NFk4YjJFCmE4SVQ3MEdyZkFqRWpSa2F0NVhF
VDUybzBxdS9nSGpHSVRVMUI0UEVqZkkKLS0tIGJjeGhNQ0Y5L2VZRVVYSm90djFF
bzdnQ3UwTGljMmtrbWNMV1MxYkFzUFUK4xjOZOTGdcbzuwUY/zeBXhcF+Md3e5PQ
EylloI7MNGbadPGb
-----END AGE ENCRYPTED FILE-----"""


def test_the_spec_identity_gives_the_spec_recipient() -> None:
    assert Identity.parse(SPEC_IDENTITY).recipient == SPEC_RECIPIENT
    assert bech32.encode("age-secret-key-", Identity.parse(SPEC_IDENTITY).secret).upper() \
        == SPEC_IDENTITY


def test_a_mistyped_identity_is_refused_without_quoting_it() -> None:
    typo = SPEC_IDENTITY[:-3] + "AAA"
    with pytest.raises(AgeError) as raised:
        Identity.parse(typo)
    assert typo not in str(raised.value) and "checksum" in str(raised.value)
    assert SPEC_IDENTITY not in repr(Identity.parse(SPEC_IDENTITY))


def test_a_stanza_written_by_the_real_sops_opens() -> None:
    identity = Identity.parse(SOPS_IDENTITY)
    assert identity.recipient == SOPS_RECIPIENT
    assert decrypt(SOPS_STANZA, [identity]) == b"data"


def test_another_identity_opens_nothing() -> None:
    other, _ = new_identity()
    with pytest.raises(NoMatchingIdentity):
        decrypt(SOPS_STANZA, [Identity.parse(other)])


def test_a_changed_header_is_refused() -> None:
    binary = dearmor(SOPS_STANZA)
    changed = binary.replace(b"\n---", b"\n-> added stanza\n\n---", 1)  # well-formed
    with pytest.raises(AgeError, match="header MAC"):
        decrypt(changed.decode("latin-1"), [Identity.parse(SOPS_IDENTITY)])


def test_a_changed_payload_is_refused() -> None:
    binary = bytearray(dearmor(SOPS_STANZA))
    binary[-1] ^= 1
    with pytest.raises(AgeError, match="payload"):
        decrypt(bytes(binary).decode("latin-1"), [Identity.parse(SOPS_IDENTITY)])


def _age(*args: str, data: bytes) -> bytes:
    return subprocess.run(["age", *args], input=data, capture_output=True, check=True).stdout


def test_the_real_age_opens_what_the_test_encryptor_wrote(tmp_path: Path) -> None:
    identity, recipient = new_identity()
    (tmp_path / "key.txt").write_text(identity + "\n")
    key = os.urandom(32)
    armored = age_encrypt(key, [new_identity()[1], recipient])
    assert _age("--decrypt", "-i", str(tmp_path / "key.txt"), data=armored.encode()) == key


@pytest.mark.parametrize("size", [32, 64 * 1024, 64 * 1024 + 1, 200_000])
def test_what_the_real_age_wrote_opens(size: int) -> None:
    identity, recipient = new_identity()
    plaintext = os.urandom(size)
    armored = _age("--encrypt", "--armor", "-r", new_identity()[1], "-r", recipient,
                   data=plaintext).decode()
    assert decrypt(armored, [Identity.parse(identity)]) == plaintext
    binary = _age("--encrypt", "-r", recipient, data=plaintext)
    assert decrypt(binary.decode("latin-1"), [Identity.parse(identity)]) == plaintext
