"""The values of a SOPS document: which are encrypted, their decryption, the MAC.

Facts of the format this follows (sops 3.x): each value is AES-256-GCM with the
data key, a 32-byte IV, and as additional data the keys of its path joined by
``:`` with a trailing ``:`` (list items add nothing to the path: ``hosts:``);
its ``type`` says how the plaintext is read back. The MAC is SHA-512 over every
leaf value in document order (only the encrypted ones if ``mac_only_encrypted``,
then after a fixed prefix), as uppercase hex, itself encrypted with the data key
and ``lastmodified`` (RFC 3339) as additional data. Which values are encrypted
is decided by ``unencrypted_suffix``, ``encrypted_suffix``, ``unencrypted_regex``
and ``encrypted_regex`` over the keys of the path, as sops does.
"""

from __future__ import annotations

import base64
import binascii
import datetime
import hashlib
import hmac
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from provisioner.sops import SopsError

PathKey = tuple[str | int, ...]
ENCRYPTED = re.compile(r"^ENC\[AES256_GCM,data:(.*),iv:(.+),tag:(.+),type:(.+)\]$", re.DOTALL)
MAC_ONLY_ENCRYPTED_PREFIX = bytes.fromhex(
    "8a3fd2ad54ce66527b1034f3d147be0b0b975b3bf44f72c6fdadec8176f27d69")
"""What the MAC starts from when ``mac_only_encrypted`` is set (sops' constant)."""
_RULES = ("unencrypted_suffix", "encrypted_suffix", "unencrypted_regex", "encrypted_regex")
_UNSUPPORTED_RULES = ("unencrypted_comment_regex", "encrypted_comment_regex")
_TRUE = {"1", "t", "T", "true", "True", "TRUE"}
_FALSE = {"0", "f", "F", "false", "False", "FALSE"}


@dataclass
class Rules:
    """Which values of the document sops encrypted (from its ``sops:`` block)."""

    unencrypted_suffix: str = ""
    encrypted_suffix: str = ""
    unencrypted_regex: str = ""
    encrypted_regex: str = ""
    mac_only_encrypted: bool = False

    @classmethod
    def of(cls, metadata: Mapping[str, Any]) -> Rules:
        for name in _UNSUPPORTED_RULES:
            if metadata.get(name):
                raise SopsError(f"sops.{name} is not supported (provisioner does not read "
                                "comments)", "encrypt with --encrypted-regex or "
                                "--unencrypted-suffix instead", ("sops", name))
        values = {name: metadata.get(name) or "" for name in _RULES}
        for name, value in values.items():
            if not isinstance(value, str):
                raise SopsError(f"sops.{name} is not a string", "", ("sops", name))
            if name.endswith("regex") and value:
                try:
                    re.compile(value)
                except re.error as exc:
                    raise SopsError(f"sops.{name} is not a regular expression provisioner "
                                    f"can use: {exc}", "", ("sops", name)) from None
        return cls(**values, mac_only_encrypted=metadata.get("mac_only_encrypted") is True)

    def encrypted(self, keys: list[str]) -> bool:
        """Whether sops encrypted a value whose path has these keys."""
        result = True
        if self.unencrypted_suffix and any(k.endswith(self.unencrypted_suffix) for k in keys):
            result = False
        if self.encrypted_suffix:
            result = any(k.endswith(self.encrypted_suffix) for k in keys)
        if self.unencrypted_regex and any(re.search(self.unencrypted_regex, k) for k in keys):
            result = False
        if self.encrypted_regex:
            result = any(re.search(self.encrypted_regex, k) for k in keys)
        return result


@dataclass
class Decryption:
    """The document with its values in clear, and where the encrypted ones were."""

    data: dict[str, Any]
    decrypted: set[PathKey] = field(default_factory=set)


def decrypt_document(data: Mapping[str, Any], key: bytes) -> Decryption:
    """Decrypt every value of ``data`` (its ``sops:`` block left out) and check the
    MAC; raises SopsError naming the key path of a value that does not decrypt."""
    metadata = data["sops"]
    rules = Rules.of(metadata)
    walker = _Walker(key, rules)
    tree = walker.walk({k: v for k, v in data.items() if k != "sops"}, (), [])
    _check_mac(metadata, key, walker.hash.hexdigest().upper())
    return Decryption(tree, walker.decrypted)


class _Walker:
    def __init__(self, key: bytes, rules: Rules) -> None:
        self.key = key
        self.rules = rules
        self.hash = hashlib.sha512()
        if rules.mac_only_encrypted:
            self.hash.update(MAC_ONLY_ENCRYPTED_PREFIX)
        self.decrypted: set[PathKey] = set()

    def walk(self, value: Any, path: PathKey, keys: list[str]) -> Any:
        if isinstance(value, dict):
            return {k: self.walk(v, (*path, k), [*keys, str(k)]) for k, v in value.items()}
        if isinstance(value, list):
            return [self.walk(v, (*path, i), keys) for i, v in enumerate(value)]
        if value is None:
            return None  # sops neither encrypts nor hashes nulls
        encrypted = self.rules.encrypted(keys)
        if encrypted:
            value = self._decrypt(value, path, keys)
        if encrypted or not self.rules.mac_only_encrypted:
            self.hash.update(mac_bytes(value))
        return value

    def _decrypt(self, value: Any, path: PathKey, keys: list[str]) -> Any:
        if value == "":
            return ""  # sops leaves empty strings as they are
        match = ENCRYPTED.match(value) if isinstance(value, str) else None
        if match is None:
            raise SopsError("this value is not encrypted, but the file's sops rules say it "
                            "should be: the file was edited without sops",
                            "edit the file with `sops FILE`, or encrypt it again", path)
        plaintext = decrypt_value(match, self.key, ":".join(keys) + ":", path)
        self.decrypted.add(path)
        return typed(plaintext, match.group(4), path)


def decrypt_value(match: re.Match[str], key: bytes, additional: str, path: PathKey) -> bytes:
    """The plaintext bytes of one ``ENC[...]`` value; raises SopsError."""
    try:
        data, iv, tag = (base64.b64decode(match.group(i), validate=True) for i in (1, 2, 3))
    except binascii.Error:
        raise SopsError("this encrypted value is damaged (invalid base64)", _EDITED, path) \
            from None
    if len(tag) != 16 or not 8 <= len(iv) <= 128:
        raise SopsError("this encrypted value is damaged (wrong IV or tag length)", _EDITED,
                        path)
    try:
        return AESGCM(key).decrypt(iv, data + tag, additional.encode())
    except InvalidTag:
        raise SopsError("this value does not decrypt: it was changed or moved to another "
                        "key after encryption", _EDITED, path) from None


_EDITED = "edit encrypted files only with `sops FILE`; restore the file from git"


def typed(plaintext: bytes, kind: str, path: PathKey) -> Any:
    """The value of a decrypted plaintext of sops type ``kind``."""
    try:
        text = plaintext.decode("utf-8")
        if kind in ("str", "bytes", "time"):
            return text
        if kind == "int":
            return int(text)
        if kind == "float":
            return float(text)
        if kind == "bool" and text in _TRUE | _FALSE:
            return text in _TRUE
    except (UnicodeDecodeError, ValueError):
        pass
    raise SopsError(f"this value does not decrypt to a {kind!r} (sops types: str, int, "
                    "float, bool, bytes)", _EDITED, path)


def mac_bytes(value: Any) -> bytes:
    """A value as sops hashes it into the MAC (Go's formatting of each type)."""
    if isinstance(value, bool):
        return b"True" if value else b"False"
    if isinstance(value, int):
        return str(value).encode()
    if isinstance(value, float):
        return _go_float(value).encode()
    if isinstance(value, bytes):
        return value
    return str(value).encode("utf-8")


def _go_float(value: float) -> str:
    """strconv.FormatFloat(v, 'f', -1, 64): the shortest exact digits, no exponent."""
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "+Inf" if value > 0 else "-Inf"
    text = format(Decimal(repr(value)), "f")
    return text.rstrip("0").rstrip(".") if "." in text else text


def _check_mac(metadata: Mapping[str, Any], key: bytes, computed: str) -> None:
    stored = metadata.get("mac")
    match = ENCRYPTED.match(stored) if isinstance(stored, str) else None
    if match is None:
        raise SopsError("the file has no MAC (sops.mac): its values cannot be trusted",
                        "encrypt it again with sops", ("sops", "mac"))
    try:
        additional = rfc3339(metadata.get("lastmodified"))
        mac = decrypt_value(match, key, additional, ("sops", "mac")).decode("ascii")
    except (SopsError, UnicodeDecodeError, ValueError):
        raise SopsError("the file's MAC does not decrypt: sops.mac or sops.lastmodified "
                        "was changed", _EDITED, ("sops", "mac")) from None
    if not hmac.compare_digest(mac, computed):
        raise SopsError("the MAC does not match the values: a value, or which values are "
                        "encrypted, was changed after encryption", _EDITED, ("sops", "mac"))


def rfc3339(value: Any) -> str:
    """``lastmodified`` as Go's time.RFC3339 writes it (no fraction; Z for UTC)."""
    when = datetime.datetime.fromisoformat(str(value))
    text = when.strftime("%Y-%m-%dT%H:%M:%S")
    offset = when.utcoffset()
    if offset is None or not offset:
        return text + "Z"
    minutes = int(offset.total_seconds()) // 60
    sign = "+" if minutes >= 0 else "-"
    return f"{text}{sign}{abs(minutes) // 60:02d}:{abs(minutes) % 60:02d}"
