"""The data key of a SOPS file: from an age identity, or from gpg for PGP recipients.

Age identities are looked up where sops looks: ``SOPS_AGE_KEY`` (keys separated
by whitespace), the file ``SOPS_AGE_KEY_FILE``, and ``sops/age/keys.txt`` in the
user's configuration directory (``$XDG_CONFIG_HOME``, else ``~/.config``). A PGP
recipient's data key is handed to ``gpg --decrypt``, which finds the secret key
in the user's keyring (``GNUPGHOME``). Cloud KMS and Vault recipients are not
supported: a file that has only those is refused with what to add instead.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from provisioner.sops import SopsError
from provisioner.sops.age import AgeError, Identity, NoMatchingIdentity, decrypt

KEY_ENV = "SOPS_AGE_KEY"
KEY_FILE_ENV = "SOPS_AGE_KEY_FILE"
USER_KEYS = Path("sops", "age", "keys.txt")
UNSUPPORTED = ("kms", "gcp_kms", "azure_kv", "hc_vault", "hckms")
"""Recipient kinds of the sops block that need a cloud service or Vault."""
GPG_TIMEOUT = 60
_SKIPPED_PREFIXES = ("AGE-PLUGIN-", "AGE-SECRET-KEY-PQ-")


@dataclass
class Identities:
    """The age identities found, where each place was looked at, and what was skipped."""

    keys: list[Identity] = field(default_factory=list)
    places: list[str] = field(default_factory=list)
    skipped: int = 0


def find_identities(environ: Mapping[str, str]) -> Identities:
    """Every age identity of the places sops reads; raises SopsError for a key that
    is malformed (naming its place and line, never its text)."""
    found = Identities()
    if KEY_ENV in environ:
        _add(found, KEY_ENV, environ[KEY_ENV].split())
    if environ.get(KEY_FILE_ENV):
        _add_file(found, Path(environ[KEY_FILE_ENV]), f"{KEY_FILE_ENV}={environ[KEY_FILE_ENV]}",
                  required=True)
    config = environ.get("XDG_CONFIG_HOME") or (
        str(Path(environ["HOME"], ".config")) if environ.get("HOME") else "")
    if config:
        _add_file(found, Path(config) / USER_KEYS, str(Path(config) / USER_KEYS),
                  required=False)
    return found


def _add_file(found: Identities, path: Path, place: str, required: bool) -> None:
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except FileNotFoundError:
        if required:
            raise SopsError(f"{place}: no such file",
                            "point it at a file of age identities (age-keygen -o FILE)") \
                from None
        return
    except (OSError, UnicodeDecodeError) as exc:
        raise SopsError(f"{place}: cannot read the age identities: "
                        f"{getattr(exc, 'strerror', None) or type(exc).__name__}") from None
    _add(found, place, lines)


def _add(found: Identities, place: str, lines: Sequence[str]) -> None:
    count = len(found.keys)
    for number, line in enumerate(lines, 1):
        text = line.strip()
        if not text or text.startswith("#"):
            continue
        if text.startswith(_SKIPPED_PREFIXES):
            found.skipped += 1
            continue
        try:
            found.keys.append(Identity.parse(text))
        except AgeError:
            where = f"line {number}" if place != KEY_ENV else f"key {number}"
            raise SopsError(f"{place}: {where} is not an age identity (AGE-SECRET-KEY-1...)",
                            "fix or remove that line; its text is not shown") from None
    recipients = ", ".join(k.recipient for k in found.keys[count:]) or "no identity"
    found.places.append(f"{place} ({recipients})")


def data_key(metadata: Mapping[str, Any], environ: Mapping[str, str] | None = None) -> bytes:
    """The file's data key; raises SopsError saying which recipients the file has,
    which keys were tried, and what to do."""
    environ = os.environ if environ is None else environ
    group = _key_group(metadata)
    age_entries = [e for e in group.get("age") or [] if isinstance(e, Mapping)]
    pgp_entries = [e for e in group.get("pgp") or [] if isinstance(e, Mapping)]
    if not age_entries and not pgp_entries:
        kinds = [kind for kind in UNSUPPORTED if group.get(kind)]
        raise SopsError(
            "the data key is encrypted only for " + (", ".join(kinds) or "no recipient") +
            ": provisioner decrypts age and PGP recipients only",
            "add an age recipient on a machine that can decrypt it: "
            "sops rotate --in-place --add-age age1... FILE", ("sops",))
    identities = find_identities(environ) if age_entries else Identities()
    for entry in age_entries:
        try:
            key = decrypt(str(entry.get("enc", "")), identities.keys)
        except NoMatchingIdentity:
            continue
        except AgeError as exc:
            raise SopsError(f"the age data key for {entry.get('recipient')} is damaged: {exc}",
                            "restore the file from git", ("sops", "age")) from None
        return _checked(key)
    gpg_notes: list[str] = []
    for entry in pgp_entries:
        opened, note = _gpg_decrypt(str(entry.get("enc", "")), environ)
        if opened is not None:
            return _checked(opened)
        gpg_notes.append(f"{entry.get('fp')}: {note}")
    raise _no_key(age_entries, identities, gpg_notes)


def _key_group(metadata: Mapping[str, Any]) -> Mapping[str, Any]:
    groups = metadata.get("key_groups")
    if not groups:
        return metadata
    if not isinstance(groups, list) or len(groups) != 1 or not isinstance(groups[0], Mapping):
        raise SopsError("key groups (Shamir secret sharing) are not supported",
                        "encrypt the file with one set of recipients (no --shamir-secret-sharing"
                        "-threshold, no key_groups in .sops.yaml)", ("sops", "key_groups"))
    return groups[0]


def _checked(key: bytes) -> bytes:
    if len(key) != 32:
        raise SopsError("the decrypted data key is not 32 bytes: not a sops data key",
                        "restore the file from git", ("sops",))
    return key


def _gpg_decrypt(armored: str, environ: Mapping[str, str]) -> tuple[bytes | None, str]:
    """The data key from gpg, or None and why not (gpg's own words stay out: they
    may name key ids of other files, but never the key)."""
    gpg = shutil.which("gpg", path=environ.get("PATH"))
    if gpg is None:
        return None, "gpg is not installed (apt-get install gnupg)"
    try:
        result = subprocess.run([gpg, "--batch", "--quiet", "--no-tty", "--decrypt"],
                                input=armored.encode(), capture_output=True, check=False,
                                timeout=GPG_TIMEOUT, env=dict(environ))
    except subprocess.TimeoutExpired:
        return None, f"gpg did not answer in {GPG_TIMEOUT} s (a passphrase prompt?)"
    if result.returncode == 0:
        return result.stdout, ""
    if b"No secret key" in result.stderr or b"no secret key" in result.stderr.lower():
        return None, "gpg has no secret key for it"
    return None, f"gpg --decrypt failed (exit {result.returncode})"


def _no_key(age_entries: Sequence[Mapping[str, Any]], identities: Identities,
            gpg_notes: list[str]) -> SopsError:
    parts = []
    if age_entries:
        recipients = ", ".join(str(e.get("recipient")) for e in age_entries)
        parts.append(f"no age identity matches its recipients {recipients}")
    if gpg_notes:
        parts.append("PGP keys " + "; ".join(gpg_notes))
    looked = "; ".join(identities.places) if identities.places else \
        f"none found ({KEY_ENV}, {KEY_FILE_ENV} and ~/.config/{USER_KEYS} are unset or absent)"
    if identities.skipped:
        looked += f"; {identities.skipped} plugin or post-quantum identities skipped"
    hint = (f"set {KEY_FILE_ENV} to the file holding the identity of one of those recipients "
            "(or import the PGP secret key into gpg)" if age_entries else
            "import one of those PGP secret keys into gpg (gpg --import)")
    return SopsError("cannot decrypt the data key: " + "; ".join(parts) +
                     f". Age identities looked at: {looked}", hint, ("sops",))
