"""Stack files and var-files encrypted with SOPS: read, then decrypted in memory.

A YAML file whose top level has a ``sops:`` block with a ``mac`` is a SOPS
file. Its values are decrypted where they stand, so every key keeps the line
and column of the encrypted file and problems still name ``file:line:col``;
the ``sops:`` block is dropped. The paths of the values that were encrypted go
into ``SourceMap.decrypted``: they are sensitive (secrets.py decides where they
may be used) and are never quoted.

A file that cannot be decrypted (no key, a wrong key, a changed value or MAC)
gives one problem naming the file and the key path, and no data.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from provisioner.errors import StackProblem
from provisioner.stack.source import PathKey, YamlDocument, format_path, read_yaml


def is_encrypted(data: Any) -> bool:
    """Whether ``data`` (a parsed YAML document) is a SOPS file."""
    return isinstance(data, dict) and isinstance(data.get("sops"), dict) \
        and "mac" in data["sops"]


def read_maybe_encrypted(path: Path, display_name: str | None = None,
                         environ: Mapping[str, str] | None = None) -> YamlDocument:
    """``read_yaml``, with a SOPS file's values decrypted."""
    return decrypted(read_yaml(path, display_name), environ)


def decrypted(document: YamlDocument, environ: Mapping[str, str] | None = None) -> YamlDocument:
    """The document with its values decrypted if it is a SOPS file (else itself)."""
    if document.problems or not is_encrypted(document.data):
        return document
    from provisioner.sops import SopsError  # (cryptography: only for a SOPS file)
    from provisioner.sops.keys import data_key
    from provisioner.sops.tree import decrypt_document

    try:
        key = data_key(document.data["sops"], environ)
        result = decrypt_document(document.data, key)
    except SopsError as exc:
        source = document.source
        where = source.key_at(exc.path) if exc.path[:1] == ("sops",) else source.value_at(exc.path)
        document.problems.append(StackProblem(
            where, format_path(exc.path), f"SOPS file: {exc.message}", exc.hint))
        document.data = None
        return document
    document.data = result.data
    document.source.decrypted |= result.decrypted
    return document


def decrypted_texts(data: Mapping[str, Any], paths: set[PathKey]) -> set[str]:
    """The values at the decrypted ``paths`` of ``data``, as text: what must be
    redacted from any problem that quotes a value."""
    texts = set()
    for path in paths:
        value: Any = data
        for part in path:
            try:
                value = value[part]
            except (KeyError, IndexError, TypeError):
                break
        else:
            texts.add(str(value))
    return texts
