"""Keyed digests: fingerprints that detect a change without confirming a guess.

A plain sha256 of cloud-init user-data (or of the variables a saved plan was made
with) lets anyone who reads a plan file, the state or a domain's metadata check a
guessed password offline. So these digests are HMAC-SHA256 under a key kept in the
state (``StateStore.digest_key``: made once, 0600 with the SQLite file, never
printed): equal content, equal digest, on every run that uses the same state.

A digest names its key (``hmac-sha256:KEYID:HEX``, the key id a digest of the key
that says nothing about content), so that:

- a digest stored before digests were keyed (``sha256:HEX``) still compares, with the
  plain digest of the content: an upgrade forces no replacement;
- a digest made with another key (the state was lost or replaced) compares equal:
  what was applied cannot be known, and guessing "changed" would replace guests.
  ``apply -replace ADDRESS`` forces the change when it is wanted.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets

DIGEST_KEY = "digest_key"
"""The name the key is kept under in a state store."""
PLAIN_PREFIX = "sha256:"
KEYED_PREFIX = "hmac-sha256:"


def new_digest_key() -> str:
    """A fresh key, as hex (what the stores keep)."""
    return secrets.token_hex(32)


def plain_digest(content: bytes) -> str:
    """``sha256:HEX`` of ``content``: what digests were before they were keyed."""
    return PLAIN_PREFIX + hashlib.sha256(content).hexdigest()


def key_id(key: bytes) -> str:
    """A short name of ``key`` (not of any content)."""
    return hashlib.sha256(b"provisioner key id\0" + key).hexdigest()[:8]


def keyed_digest(key: bytes, content: bytes) -> str:
    """``hmac-sha256:KEYID:HEX`` of ``content`` under ``key``."""
    return f"{KEYED_PREFIX}{key_id(key)}:{hmac.new(key, content, hashlib.sha256).hexdigest()}"


def is_digest(text: str) -> bool:
    """Whether ``text`` is a digest this module makes (plain or keyed)."""
    return text.startswith((PLAIN_PREFIX, KEYED_PREFIX))


def same_content(digest: str, plain: str, other: str) -> bool:
    """Whether ``other`` (a stored digest) is of the content whose keyed ``digest``
    and ``plain`` digest are given: equal digests; a plain one (from before digests
    were keyed) equal to ``plain``; or one made with another key (unknowable: taken
    as the same, see the module's docstring)."""
    if other == digest:
        return True
    if other.startswith(PLAIN_PREFIX):
        return bool(plain) and other == plain
    if other.startswith(KEYED_PREFIX) and digest.startswith(KEYED_PREFIX):
        return _key_of(other) != _key_of(digest)
    return False


def _key_of(digest: str) -> str:
    return digest.removeprefix(KEYED_PREFIX).partition(":")[0]
