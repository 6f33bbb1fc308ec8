"""A test-only SOPS encryptor, written from the format's facts (see
provisioner/sops/__init__.py), so tests can make encrypted files without sops.

It writes what sops writes for YAML: each value ``ENC[AES256_GCM,...]`` with the
key path as additional data, the data key wrapped for each age recipient (an
armored age file) and, through gpg, for each PGP fingerprint, and the MAC. It
is deliberately separate from the decryptor: a shared mistake would not show.
"""

from __future__ import annotations

import base64
import datetime
import hashlib
import hmac
import os
import re
import subprocess
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import yaml
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey, X25519PublicKey
from cryptography.hazmat.primitives.ciphers.aead import AESGCM, ChaCha20Poly1305
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from provisioner.sops import bech32


def new_identity() -> tuple[str, str]:
    """A fresh age key pair for one test: (AGE-SECRET-KEY-1..., age1...)."""
    private = X25519PrivateKey.generate()
    secret = private.private_bytes_raw()
    public = private.public_key().public_bytes_raw()
    return bech32.encode("age-secret-key-", secret).upper(), bech32.encode("age", public)


def _hkdf(ikm: bytes, salt: bytes, info: bytes) -> bytes:
    return HKDF(hashes.SHA256(), 32, salt, info).derive(ikm)


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode().rstrip("=")


def age_encrypt(plaintext: bytes, recipients: Sequence[str]) -> str:
    """An armored age file of ``plaintext`` for X25519 ``recipients``."""
    file_key = os.urandom(16)
    header = "age-encryption.org/v1\n"
    for recipient in recipients:
        _, public = bech32.decode(recipient)
        ephemeral = X25519PrivateKey.generate()
        share = ephemeral.public_key().public_bytes_raw()
        shared = ephemeral.exchange(X25519PublicKey.from_public_bytes(public))
        wrap = _hkdf(shared, share + public, b"age-encryption.org/v1/X25519")
        body = _b64(ChaCha20Poly1305(wrap).encrypt(bytes(12), file_key, None))
        lines = [body[i:i + 64] for i in range(0, len(body), 64)]
        if not lines or len(lines[-1]) == 64:
            lines.append("")
        header += f"-> X25519 {_b64(share)}\n" + "".join(line + "\n" for line in lines)
    header += "---"
    mac = hmac.new(_hkdf(file_key, b"", b"header"), header.encode(), hashlib.sha256).digest()
    nonce = os.urandom(16)
    payload = ChaCha20Poly1305(_hkdf(file_key, nonce, b"payload")).encrypt(
        bytes(11) + b"\x01", plaintext, None)  # one chunk: a data key is 32 bytes
    binary = f"{header} {_b64(mac)}\n".encode() + nonce + payload
    text = base64.b64encode(binary).decode()
    body = "\n".join(text[i:i + 64] for i in range(0, len(text), 64))
    return f"-----BEGIN AGE ENCRYPTED FILE-----\n{body}\n-----END AGE ENCRYPTED FILE-----\n"


def gpg_encrypt(plaintext: bytes, fingerprint: str, gnupghome: str) -> str:
    return subprocess.run(
        ["gpg", "--batch", "--quiet", "--armor", "--trust-model", "always", "--encrypt",
         "--recipient", fingerprint], input=plaintext, capture_output=True, check=True,
        env={**os.environ, "GNUPGHOME": gnupghome}).stdout.decode()


def _text(value: Any) -> tuple[bytes, str]:
    """The plaintext bytes and sops type of a value."""
    if isinstance(value, bool):
        return (b"True" if value else b"False"), "bool"
    if isinstance(value, int):
        return str(value).encode(), "int"
    if isinstance(value, float):
        return repr(value).encode(), "float"
    return str(value).encode(), "str"


@dataclass
class SopsWriter:
    """Encrypts a mapping as sops would, with the rules given."""

    age: Sequence[str] = ()
    pgp: Sequence[str] = ()
    gnupghome: str = ""
    unencrypted_suffix: str = "_unencrypted"
    encrypted_regex: str = ""
    key: bytes = field(default_factory=lambda: os.urandom(32))
    lastmodified: str = "2026-01-02T03:04:05Z"
    mac_only_encrypted: bool = False

    def encrypt(self, data: Mapping[str, Any]) -> dict[str, Any]:
        self._hash = hashlib.sha512()
        if self.mac_only_encrypted:  # sops' fixed 32-byte start for this mode
            self._hash.update(bytes.fromhex(
                "8a3fd2ad54ce66527b1034f3d147be0b0b975b3bf44f72c6fdadec8176f27d69"))
        tree = self._walk(dict(data), [])
        return {**tree, "sops": self._metadata(self._hash.hexdigest().upper())}

    def dump(self, data: Mapping[str, Any]) -> str:
        return yaml.safe_dump(self.encrypt(data), sort_keys=False, width=10_000)

    def _encrypted(self, keys: list[str]) -> bool:
        if self.encrypted_regex:
            return any(re.search(self.encrypted_regex, k) for k in keys)
        return not any(k.endswith(self.unencrypted_suffix) for k in keys)

    def _walk(self, value: Any, keys: list[str]) -> Any:
        if isinstance(value, dict):
            return {k: self._walk(v, [*keys, k]) for k, v in value.items()}
        if isinstance(value, list):
            return [self._walk(v, keys) for v in value]
        if value is None:
            return None
        plain, kind = _text(value)
        encrypted = self._encrypted(keys)
        if encrypted or not self.mac_only_encrypted:
            self._hash.update(plain)
        if not encrypted or plain == b"":
            return value
        return self.value(plain, kind, ":".join(keys) + ":")

    def value(self, plain: bytes, kind: str, additional: str) -> str:
        iv = os.urandom(32)
        sealed = AESGCM(self.key).encrypt(iv, plain, additional.encode())
        return (f"ENC[AES256_GCM,data:{base64.b64encode(sealed[:-16]).decode()},"
                f"iv:{base64.b64encode(iv).decode()},"
                f"tag:{base64.b64encode(sealed[-16:]).decode()},type:{kind}]")

    def _metadata(self, mac: str) -> dict[str, Any]:
        metadata: dict[str, Any] = {}
        if self.age:
            metadata["age"] = [{"recipient": r, "enc": age_encrypt(self.key, [r])}
                               for r in self.age]
        metadata["lastmodified"] = self.lastmodified
        metadata["mac"] = self.value(mac.encode(), "str", self.lastmodified)
        if self.pgp:
            created = datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
            metadata["pgp"] = [{"created_at": created, "fp": fp,
                                "enc": gpg_encrypt(self.key, fp, self.gnupghome)}
                               for fp in self.pgp]
        if self.encrypted_regex:
            metadata["encrypted_regex"] = self.encrypted_regex
        else:
            metadata["unencrypted_suffix"] = self.unencrypted_suffix
        if self.mac_only_encrypted:
            metadata["mac_only_encrypted"] = True
        metadata["version"] = "3.9.0"
        return metadata
