"""The age file format (age-encryption.org/v1), decryption with X25519 identities.

SOPS keeps the data key for an age recipient as an armored age file. Only what
that needs is here: the armor, the header with its X25519 stanzas and MAC, and
the STREAM payload. Other stanza types (scrypt, ssh-ed25519, post-quantum,
plugins) are skipped, as the format asks of an identity that does not know them.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import re
from collections.abc import Sequence
from dataclasses import dataclass

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey, X25519PublicKey
from cryptography.hazmat.primitives.ciphers.aead import ChaCha20Poly1305
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from provisioner.sops import bech32

VERSION_LINE = b"age-encryption.org/v1\n"
X25519_LABEL = b"age-encryption.org/v1/X25519"
ARMOR_BEGIN = "-----BEGIN AGE ENCRYPTED FILE-----"
ARMOR_END = "-----END AGE ENCRYPTED FILE-----"
IDENTITY_HRP = "age-secret-key-"
RECIPIENT_HRP = "age"
CHUNK = 64 * 1024
_TAG = 16
_ZERO_NONCE = bytes(12)


class AgeError(ValueError):
    """An age file that is malformed or was changed (never quotes a key)."""


class NoMatchingIdentity(AgeError):
    """No identity given opens any stanza of the file."""


@dataclass(frozen=True)
class Identity:
    """An X25519 identity: the private scalar and its recipient (public key) text."""

    secret: bytes
    recipient: str

    @classmethod
    def parse(cls, text: str) -> Identity:
        """From ``AGE-SECRET-KEY-1...``; raises AgeError."""
        try:
            hrp, secret = bech32.decode(text.strip())
        except bech32.Bech32Error as exc:
            raise AgeError(f"not an age identity ({exc})") from None
        if hrp != IDENTITY_HRP or len(secret) != 32:
            raise AgeError("not an X25519 age identity")
        public = X25519PrivateKey.from_private_bytes(secret).public_key().public_bytes_raw()
        return cls(secret, bech32.encode(RECIPIENT_HRP, public))

    def __repr__(self) -> str:
        return f"Identity(recipient={self.recipient!r})"


@dataclass(frozen=True)
class Stanza:
    arguments: tuple[str, ...]
    body: bytes


def hkdf(ikm: bytes, salt: bytes, info: bytes) -> bytes:
    """HKDF-SHA-256 with 32 bytes of output, as every age key derivation."""
    return HKDF(hashes.SHA256(), 32, salt, info).derive(ikm)


def b64decode(text: str) -> bytes:
    """age's base64: standard alphabet, no padding, canonical."""
    if "=" in text or not re.fullmatch(r"[A-Za-z0-9+/]*", text):
        raise AgeError("invalid base64 in the header")
    try:
        data = base64.b64decode(text + "=" * (-len(text) % 4), validate=True)
    except binascii.Error:
        raise AgeError("invalid base64 in the header") from None
    if b64encode(data) != text:
        raise AgeError("non-canonical base64 in the header")
    return data


def b64encode(data: bytes) -> str:
    return base64.b64encode(data).decode().rstrip("=")


def dearmor(text: str) -> bytes:
    """The binary age file of an armored one (a binary one is returned as it is)."""
    stripped = text.strip()
    if not stripped.startswith(ARMOR_BEGIN):
        if stripped.startswith("age-encryption.org/"):
            return text.encode("latin-1")
        raise AgeError("not an age file")
    if not stripped.endswith(ARMOR_END):
        raise AgeError("the armored age file has no end line")
    body = stripped[len(ARMOR_BEGIN):-len(ARMOR_END)]
    try:
        return base64.b64decode("".join(body.split()), validate=True)
    except binascii.Error:
        raise AgeError("invalid base64 in the armored age file") from None


def parse_header(data: bytes) -> tuple[list[Stanza], bytes, bytes, bytes]:
    """Stanzas, the header bytes the MAC covers, the MAC, and the payload."""
    if not data.startswith(VERSION_LINE):
        raise AgeError("not an age v1 file")
    position = len(VERSION_LINE)
    stanzas: list[Stanza] = []
    while True:
        line, after = _line(data, position)
        if line.startswith("--- "):
            mac = b64decode(line[4:])
            return stanzas, data[:position + 3], mac, data[after:]
        if not line.startswith("-> "):
            raise AgeError("malformed age header line")
        arguments = tuple(line[3:].split(" "))
        body, position = _stanza_body(data, after)
        stanzas.append(Stanza(arguments, body))


def _line(data: bytes, position: int) -> tuple[str, int]:
    """The header line at ``position`` (without its LF) and where the next starts."""
    end = data.find(b"\n", position)
    if end < 0:
        raise AgeError("the age header is cut short")
    return data[position:end].decode("ascii", errors="replace"), end + 1


def _stanza_body(data: bytes, position: int) -> tuple[bytes, int]:
    lines: list[str] = []
    while True:
        line, position = _line(data, position)
        lines.append(line)
        if len(line) > 64:
            raise AgeError("a stanza line of the age header is too long")
        if len(line) < 64:
            return b64decode("".join(lines)), position


def _unwrap(stanza: Stanza, identity: Identity) -> bytes | None:
    """The file key if the stanza is for ``identity``, else None."""
    if len(stanza.arguments) != 2:
        raise AgeError("an X25519 stanza has two arguments")
    share = b64decode(stanza.arguments[1])
    if len(share) != 32 or len(stanza.body) != 32:
        raise AgeError("an X25519 stanza has the wrong length")
    private = X25519PrivateKey.from_private_bytes(identity.secret)
    try:
        shared = private.exchange(X25519PublicKey.from_public_bytes(share))
    except ValueError:  # an all-zero shared secret: a low-order share
        raise AgeError("an X25519 stanza has an invalid share") from None
    recipient = private.public_key().public_bytes_raw()
    key = hkdf(shared, share + recipient, X25519_LABEL)
    try:
        return ChaCha20Poly1305(key).decrypt(_ZERO_NONCE, stanza.body, None)
    except InvalidTag:
        return None


def file_key(stanzas: Sequence[Stanza], identities: Sequence[Identity]) -> bytes:
    """The file key from the first stanza an identity opens; raises NoMatchingIdentity."""
    for stanza in stanzas:
        if stanza.arguments[:1] != ("X25519",):
            continue
        for identity in identities:
            key = _unwrap(stanza, identity)
            if key is not None:
                return key
    raise NoMatchingIdentity("none of the age identities opens this data key")


def decrypt(text: str, identities: Sequence[Identity]) -> bytes:
    """The plaintext of an (armored) age file; raises AgeError, NoMatchingIdentity."""
    stanzas, covered, mac, payload = parse_header(dearmor(text))
    key = file_key(stanzas, identities)
    expected = hmac.new(hkdf(key, b"", b"header"), covered, hashlib.sha256).digest()
    if not hmac.compare_digest(expected, mac):
        raise AgeError("the age header MAC does not match: the data key was changed")
    return _payload(key, payload)


def _payload(key: bytes, payload: bytes) -> bytes:
    if len(payload) < 16 + _TAG:
        raise AgeError("the age payload is cut short")
    aead = ChaCha20Poly1305(hkdf(key, payload[:16], b"payload"))
    body, out, counter = payload[16:], [], 0
    while True:
        chunk, body = body[:CHUNK + _TAG], body[CHUNK + _TAG:]
        last = not body
        nonce = counter.to_bytes(11, "big") + (b"\x01" if last else b"\x00")
        try:
            out.append(aead.decrypt(nonce, chunk, None))
        except InvalidTag:
            raise AgeError("the age payload does not authenticate: it was changed") from None
        if last:
            return b"".join(out)
        counter += 1
