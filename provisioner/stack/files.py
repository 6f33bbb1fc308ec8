"""Which files make a stack, and how several files merge into one document.

A stack is one YAML file, or every ``*.yaml``/``*.yml`` file of a directory
(not its subdirectories) except cloud-init files (first line ``#cloud-config``
or another ``#`` header cloud-init reads). Sections of several files merge; a
name defined twice is a problem naming both places.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from provisioner.errors import Problem, UsageError
from provisioner.stack.source import SourceMap, YamlDocument, format_path, read_yaml

SCALAR_KEYS = ("apiVersion", "stack")
CLOUD_INIT_HEADERS = ("#cloud-config", "#!", "#include", "#cloud-boothook", "#part-handler")


def stack_files(path: Path) -> list[Path]:
    """The files of the stack at ``path``; raises UsageError when there are none."""
    if path.is_file():
        return [path]
    if not path.exists():
        raise UsageError(f"{path}: no such file or directory",
                         hint="pass a stack file or a directory of stack files")
    files = sorted(p for p in path.iterdir() if p.suffix in (".yaml", ".yml") and p.is_file())
    stack = [p for p in files if not _is_cloud_init(p)]
    if not stack:
        raise UsageError(f"{path}: no stack files (*.yaml) in this directory",
                         hint="run provisioner in the stack's directory or pass its path")
    return stack


def _is_cloud_init(path: Path) -> bool:
    try:
        with path.open(encoding="utf-8", errors="replace") as handle:
            first = handle.readline().strip()
    except OSError:
        return False
    return first.startswith(CLOUD_INIT_HEADERS)


def display_name(path: Path, base: Path) -> str:
    """The path as printed in errors: relative to the working directory when possible."""
    try:
        return str(path.resolve().relative_to(base.resolve()))
    except ValueError:
        return str(path)


def read_documents(files: Sequence[Path], base: Path) -> list[YamlDocument]:
    return [read_yaml(path, display_name(path, base)) for path in files]


def merge_documents(
    documents: Sequence[YamlDocument],
) -> tuple[dict[str, Any], SourceMap, list[Problem]]:
    """One document from several: sections merged, duplicates reported."""
    merged: dict[str, Any] = {}
    source = SourceMap()
    problems: list[Problem] = []
    for document in documents:
        problems.extend(document.problems)
        if document.data is None and not document.problems:
            problems.append(Problem(document.source.value_at(()), "", "the file is empty",
                                    "start it with apiVersion: provisioner/v1"))
        if document.data is None:
            continue
        if not isinstance(document.data, dict):
            problems.append(Problem(document.source.value_at(()), "",
                                    "a stack file is a mapping of sections",
                                    "start it with apiVersion: provisioner/v1"))
            continue
        if "apiVersion" not in document.data and len(documents) > 1:
            problems.append(Problem(document.source.value_at(()), "",
                                    "missing apiVersion: every file of a stack starts with it",
                                    "add apiVersion: provisioner/v1, or move the file out of "
                                    "the stack's directory if it is not part of the stack"))
            continue
        source.update(document.source)
        _merge_one(merged, document, problems)
    return merged, source, problems


def _merge_one(merged: dict[str, Any], document: YamlDocument, problems: list[Problem]) -> None:
    for key, value in document.data.items():
        if key not in merged:
            merged[key] = value
            continue
        if key in SCALAR_KEYS or not isinstance(value, dict) or not isinstance(merged[key], dict):
            if merged[key] != value:
                problems.append(Problem(document.source.key_at((key,)), key,
                                        f"'{key}' differs between the files of this stack",
                                        "give it the same value in every file, or in one only"))
            continue
        for name, entry in value.items():
            if name in merged[key]:
                problems.append(Problem(document.source.key_at((key, name)),
                                        format_path((key, name)),
                                        f"'{name}' is defined twice in {key}",
                                        "rename or remove one of them"))
            else:
                merged[key][name] = entry
