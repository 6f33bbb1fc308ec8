"""Which files make a stack, and how several files merge into one document.

A stack is one YAML file, or the stack files among the ``*.yaml``/``*.yml``
files of a directory (not its subdirectories). A stack directory also holds
what the stack names (cloud-init data, var files) and files of other tools,
so a file of the directory is a stack file when

- it has ``apiVersion`` (whoever else names it), or
- it looks like one that lost it: a stack section (``guests:``, ``stack:``,
  ...), a misspelt ``apiVersion``, or YAML that does not parse. It is read,
  and its missing apiVersion reported, never skipped in silence;

and it is skipped, with the reason kept for ``validate --verbose``, when it
is a link to a file outside the stack's directory (file_access.py), when its
first line is a cloud-init header (``#cloud-config``, ...), when the stack
names it (``cloud_init`` files, ``--var-file``), or when it has none of the
above. A stack file encrypted with SOPS is decrypted once chosen (encrypted.py).
Sections of several files merge; a name defined twice is a problem
naming both places.
"""

from __future__ import annotations

import difflib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NamedTuple

from provisioner.core.file_access import allowed_directories, kind_of
from provisioner.errors import StackProblem, UsageError
from provisioner.stack.encrypted import decrypted
from provisioner.stack.model import CLOUD_INIT_FILES, StackModel
from provisioner.stack.source import SourceMap, YamlDocument, format_path, read_yaml

SCALAR_KEYS = ("apiVersion", "stack")
CLOUD_INIT_HEADERS = ("#cloud-config", "#!", "#include", "#cloud-boothook", "#part-handler",
                      "## template:")
"""First lines of cloud-init data (``## template: jinja`` comes before the header of a
templated one); a byte order mark before them is ignored, as cloud-init does."""
STACK_KEYS = frozenset(field.alias or name for name, field in StackModel.model_fields.items())
NOT_A_STACK = "no apiVersion, and no section of a stack"
CLOUD_INIT_DATA = "cloud-init data (its first line is a cloud-init header)"
OUTSIDE = "a link to a file outside the stack's directory (see PROVISIONER_ALLOW_PATHS)"


class SkippedFile(NamedTuple):
    """A YAML file of the stack directory that is not a stack file, and why."""

    path: Path
    reason: str


@dataclass(frozen=True)
class StackFiles:
    """The stack files of a path, read, and the YAML files beside them left out."""

    documents: list[YamlDocument]
    skipped: list[SkippedFile]

    @property
    def paths(self) -> list[Path]:
        return [document.path for document in self.documents]


def stack_files(path: Path, base: Path, var_files: Sequence[Path] = ()) -> StackFiles:
    """The stack files at ``path``, read (errors printed relative to ``base``); raises
    UsageError when there are none. A file named on purpose is always a stack file."""
    if path.is_file():
        return StackFiles([decrypted(read_yaml(path, display_name(path, base)))], [])
    if not path.exists():
        raise UsageError(f"{path}: no such file or directory",
                         hint="pass a stack file or a directory of stack files")
    if not path.is_dir():
        raise UsageError(f"{path} is {kind_of(path.stat().st_mode)}, not a stack file or "
                         "directory", hint="pass a stack file or a directory of stack files")
    found = sorted(p for p in path.iterdir() if p.suffix in (".yaml", ".yml") and p.is_file())
    directories = allowed_directories(path)
    skipped = [SkippedFile(p, OUTSIDE) for p in found if not _inside(p, directories)]
    found = [p for p in found if _inside(p, directories)]
    skipped += [SkippedFile(p, CLOUD_INIT_DATA) for p in found if _is_cloud_init(p)]
    documents = [read_yaml(p, display_name(p, base))
                 for p in found if not _is_cloud_init(p)]
    named = _named_files(path, documents, var_files)
    chosen = []
    for document in documents:
        reason = _not_a_stack_file(document, named.get(document.path.resolve()))
        if reason is None:
            chosen.append(decrypted(document))  # only stack files: a var-file may need no key
        else:
            skipped.append(SkippedFile(document.path, reason))
    if not chosen:
        raise UsageError(_no_stack_files(path, skipped),
                         hint="run provisioner in the stack's directory or pass its path; "
                              "a stack file starts with apiVersion: provisioner/v1")
    return StackFiles(chosen, sorted(skipped))


def _no_stack_files(path: Path, skipped: list[SkippedFile]) -> str:
    message = f"{path}: no stack files (*.yaml) in this directory"
    if skipped:
        message += "; not stack files: " + ", ".join(
            f"{entry.path.name} ({entry.reason})" for entry in sorted(skipped))
    return message


def _inside(path: Path, directories: Sequence[Path]) -> bool:
    resolved = path.resolve()
    return any(resolved.is_relative_to(directory) for directory in directories)


def _is_cloud_init(path: Path) -> bool:
    try:
        with path.open(encoding="utf-8", errors="replace") as handle:
            first = handle.readline(200).lstrip("\ufeff").strip()
    except OSError:
        return False
    return first.startswith(CLOUD_INIT_HEADERS)


def _not_a_stack_file(document: YamlDocument, named_as: str | None) -> str | None:
    """Why ``document`` is not a stack file, or None if it is one."""
    data = document.data
    if isinstance(data, dict) and "apiVersion" in data:
        return None
    if named_as is not None:
        return named_as
    if document.problems or (isinstance(data, dict) and any(map(_stack_like, data))):
        return None
    return NOT_A_STACK


def _stack_like(key: Any) -> bool:
    """A key of a stack file: a section, or apiVersion misspelt (``apiversion``,
    ``api_version``). Other close words are not: netplan's ``network:`` is not a
    misspelt ``networks:``."""
    if not isinstance(key, str):
        return False
    if key in STACK_KEYS:
        return True
    folded = key.lower().replace("_", "").replace("-", "")
    return difflib.SequenceMatcher(None, folded, "apiversion").ratio() >= 0.85


def _named_files(root: Path, documents: Sequence[YamlDocument],
                 var_files: Sequence[Path]) -> dict[Path, str]:
    """Files the stack names, by resolved path → what names them. Only literal names
    count: ``${var.file}`` is not known before the stack is read."""
    named: dict[Path, str] = {path.resolve(): "--var-file" for path in var_files}
    for document in documents:
        guests = document.data.get("guests") if isinstance(document.data, dict) else None
        for name, entry in guests.items() if isinstance(guests, dict) else ():
            cloud_init = entry.get("cloud_init") if isinstance(entry, dict) else None
            if not isinstance(cloud_init, Mapping):
                continue
            for key in CLOUD_INIT_FILES:
                value = cloud_init.get(key)
                if isinstance(value, str) and not value.lstrip().startswith("#") \
                        and "${" not in value and "\0" not in value:
                    named.setdefault((root / value).resolve(),
                                     f"cloud_init.{key} of guests.{name}")
    return named


def display_name(path: Path, base: Path) -> str:
    """The path as printed in errors: relative to the working directory when possible."""
    try:
        return str(path.resolve().relative_to(base.resolve()))
    except ValueError:
        return str(path)


def merge_documents(
    documents: Sequence[YamlDocument],
) -> tuple[dict[str, Any], SourceMap, list[StackProblem]]:
    """One document from several: sections merged, duplicates reported."""
    merged: dict[str, Any] = {}
    source = SourceMap()
    problems: list[StackProblem] = []
    for document in documents:
        problems.extend(document.problems)
        if document.data is None and not document.problems:
            problems.append(StackProblem(document.source.value_at(()), "", "the file is empty",
                                    "start it with apiVersion: provisioner/v1"))
        if document.data is None:
            continue
        if not isinstance(document.data, dict):
            problems.append(StackProblem(document.source.value_at(()), "",
                                    "a stack file is a mapping of sections",
                                    "start it with apiVersion: provisioner/v1"))
            continue
        if "apiVersion" not in document.data and len(documents) > 1:
            problems.append(StackProblem(document.source.value_at(()), "",
                                    "missing apiVersion: every file of a stack starts with it",
                                    "add apiVersion: provisioner/v1, or move the file out of "
                                    "the stack's directory if it is not part of the stack"))
            continue
        source.update(document.source)
        _merge_one(merged, document, problems)
    return merged, source, problems


def _merge_one(merged: dict[str, Any], document: YamlDocument,
               problems: list[StackProblem]) -> None:
    for key, value in document.data.items():
        if key not in merged:
            merged[key] = value
            continue
        if key in SCALAR_KEYS or not isinstance(value, dict) or not isinstance(merged[key], dict):
            if merged[key] != value:
                problems.append(StackProblem(document.source.key_at((key,)), key,
                                        f"'{key}' differs between the files of this stack",
                                        "give it the same value in every file, or in one only"))
            continue
        for name, entry in value.items():
            if name in merged[key]:
                problems.append(StackProblem(document.source.key_at((key, name)),
                                        format_path((key, name)),
                                        f"'{name}' is defined twice in {key}",
                                        "rename or remove one of them"))
            else:
                merged[key][name] = entry
