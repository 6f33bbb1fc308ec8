"""SOPS-encrypted YAML, decrypted in memory.

A file encrypted with `sops <https://github.com/getsops/sops>`_ keeps its keys
and structure in clear and each value as ``ENC[AES256_GCM,data:...,iv:...,
tag:...,type:...]``; a top-level ``sops:`` block holds the data key, encrypted
to each recipient (age, PGP, cloud KMS), and a MAC over all values.

    keys.py     the data key: age identities from SOPS_AGE_KEY / SOPS_AGE_KEY_FILE /
                ~/.config/sops/age/keys.txt, or ``gpg --decrypt`` for PGP recipients
    age.py      the age file format (the armored data key of an age recipient)
    bech32.py   the encoding of age keys (``age1...``, ``AGE-SECRET-KEY-1...``)
    tree.py     the values: AES-256-GCM with the key path as additional data, the MAC

Nothing here writes a decrypted value anywhere: callers get plain data back and
decide what is sensitive. Errors are ``SopsError`` and never hold a value or a
private key.
"""

from __future__ import annotations

from provisioner.errors import UserError


class SopsError(UserError):
    """A SOPS file that cannot be decrypted: no key, a wrong key, or tampering.
    ``path`` is the key path the problem concerns, if any (``db.password``)."""

    def __init__(self, message: str, hint: str = "", path: tuple[str | int, ...] = ()) -> None:
        super().__init__(message, hint)
        self.path = path
