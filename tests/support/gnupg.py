"""A throwaway GnuPG home for one test: its own keyring and agent, ended after."""

from __future__ import annotations

import os
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


@contextmanager
def gnupg_home() -> Iterator[dict[str, str]]:
    """The environment of a fresh GNUPGHOME (short path: the agent's socket lives in it)."""
    with tempfile.TemporaryDirectory(prefix="gpg-") as home:
        os.chmod(home, 0o700)
        env = {**os.environ, "GNUPGHOME": home}
        try:
            yield env
        finally:
            subprocess.run(["gpgconf", "--kill", "gpg-agent"], env=env, check=False,
                           capture_output=True)


def gpg(env: dict[str, str], *args: str, data: bytes = b"") -> bytes:
    return subprocess.run(["gpg", "--batch", "--quiet", *args], input=data, env=env,
                          capture_output=True, check=True).stdout


def new_key(env: dict[str, str], name: str = "throwaway test key") -> str:
    """A passphrase-less key pair in the home; its fingerprint."""
    gpg(env, "--passphrase", "", "--quick-generate-key", f"{name} <test@example.invalid>",
        "default", "default", "never")
    listing = gpg(env, "--with-colons", "--list-secret-keys").decode()
    return next(line.split(":")[9] for line in listing.splitlines() if line.startswith("fpr"))


def import_key(env: dict[str, str], path: Path) -> None:
    gpg(env, "--import", data=path.read_bytes())
