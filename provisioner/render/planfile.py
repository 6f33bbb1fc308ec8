"""Saved plans: ``plan -o FILE`` writes one, ``apply FILE`` applies exactly it.

A plan file is JSON (documented in docs/plan-file.md): the plan as
``plan --json`` prints it, its text, the options it was made with, a digest of
the stack (files and variable values) and a fingerprint of every live object
the plan read. ``apply FILE`` plans again and refuses, naming what changed,
unless the stack digest, every fingerprint and the changes are the same: it
never applies a plan that no longer matches reality. Like all output, a plan
file holds no secret (content and secrets appear as digests or "(sensitive)").
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from provisioner import __version__
from provisioner.core.address import Address
from provisioner.core.file_access import FileRefused, open_regular
from provisioner.errors import PlanError, UsageError
from provisioner.plan.model import Plan
from provisioner.plan.planner import PlanOptions
from provisioner.render.json import plan_document
from provisioner.render.private_file import check_writable, write_private
from provisioner.render.text import render_plan
from provisioner.state.store import now_iso

FORMAT = "provisioner-plan"
FORMAT_VERSION = "1"


@dataclass(frozen=True)
class SavedPlan:
    """A plan file's content."""

    stack: str
    stack_path: str
    stack_digest: str
    options: PlanOptions
    fingerprints: Mapping[str, str]
    document: Mapping[str, Any]
    text: str
    environment: str | None = None
    other_outputs: str = ""
    """Digest of the other stacks' outputs the plan was made from ("" if none)."""


def write_plan_file(path: Path, plan: Plan, stack_digest: str, stack_path: str,
                    options: PlanOptions) -> None:
    """Write the plan, readable by its owner only (it describes the infrastructure)."""
    body = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "provisioner_version": __version__,
        "created_at": now_iso(),
        "stack": plan.stack,
        "stack_path": stack_path,
        "stack_digest": stack_digest,
        "environment": plan.environment,
        "other_outputs": plan.other_outputs,
        "options": {
            "destroy": options.destroy,
            "replace": sorted(str(a) for a in options.replace),
            "targets": sorted(str(a) for a in options.targets),
            "excludes": sorted(str(a) for a in options.excludes),
        },
        "fingerprints": dict(sorted(plan.fingerprints.items())),
        "plan": plan_document(plan),
        "text": render_plan(plan),
    }
    write_private(path, json.dumps(body, indent=2) + "\n", is_plan_file, "plan file")


def check_plan_output(path: Path) -> None:
    """Refuse, before planning, a ``-o`` path a plan file may not be written to."""
    check_writable(path, is_plan_file, "plan file")


def is_plan_file(path: Path) -> bool:
    """Whether ``path`` is a plan file (not a stack file or directory)."""
    try:
        with open_regular(path, "") as handle:
            head = handle.read(200).decode("utf-8")
    except (FileRefused, OSError, UnicodeDecodeError):
        return False
    return head.lstrip().startswith("{") and f'"{FORMAT}"' in head


def read_plan_file(path: Path) -> SavedPlan:
    try:
        body = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise UsageError(f"{path}: not a readable plan file ({exc})",
                         hint="make one with `provisioner plan -o FILE`") from None
    if not isinstance(body, dict) or body.get("format") != FORMAT:
        raise UsageError(f"{path}: not a plan file", hint="make one with `provisioner plan -o`")
    if body.get("format_version") != FORMAT_VERSION:
        raise UsageError(f"{path}: plan file format {body.get('format_version')} is not "
                         f"{FORMAT_VERSION}", hint="plan again with this provisioner version")
    try:
        return _saved_plan(body)
    except KeyError as exc:
        raise UsageError(f"{path}: a damaged plan file: {exc.args[0]!r} is missing",
                         hint="plan again: provisioner plan -o FILE") from None
    except (TypeError, ValueError, AttributeError):
        raise UsageError(f"{path}: a damaged plan file: a value is not of its type",
                         hint="plan again: provisioner plan -o FILE") from None


def _saved_plan(body: dict[str, Any]) -> SavedPlan:
    """The plan file's content; KeyError, TypeError or ValueError if a part is missing
    or of the wrong type (each part is used later: a check here, or a traceback then)."""
    options = body["options"]
    if not all(isinstance(body[key], str) for key in ("stack", "stack_path", "stack_digest",
                                                       "text")):
        raise TypeError("a string")
    _changes(body["plan"])
    if not all(isinstance(k, str) and isinstance(v, str) for k, v in body["fingerprints"].items()):
        raise TypeError("fingerprints")
    environment, other_outputs = body.get("environment"), body.get("other_outputs", "")
    if not isinstance(environment, str | None) or not isinstance(other_outputs, str):
        raise TypeError("environment")
    return SavedPlan(
        environment=environment,
        other_outputs=other_outputs,
        stack=body["stack"],
        stack_path=body["stack_path"],
        stack_digest=body["stack_digest"],
        options=PlanOptions(
            destroy=bool(options["destroy"]),
            replace=frozenset(Address.parse(a) for a in options["replace"]),
            targets=frozenset(Address.parse(a) for a in options["targets"]),
            excludes=frozenset(Address.parse(a) for a in options["excludes"]),
        ),
        fingerprints=body["fingerprints"],
        document=body["plan"],
        text=body["text"],
    )


def check_still_valid(saved: SavedPlan, stack_name: str, stack_digest: str, plan: Plan) -> None:
    """Refuse (PlanError) a saved plan that no longer matches the stack or the live
    objects, naming every difference."""
    differences: list[str] = []
    if saved.stack != stack_name:
        differences.append(f"the plan is for stack '{saved.stack}', not '{stack_name}'")
    if saved.environment != plan.environment:
        differences.append(f"the plan is for {_environment(saved.environment)}, not "
                           f"{_environment(plan.environment)}")
    if saved.stack_digest != stack_digest:
        differences.append("the stack files or variable values changed since the plan")
    if saved.other_outputs != plan.other_outputs:
        differences.append("the outputs of other stacks that the stack reads "
                           "(${stack.NAME.outputs.X}) changed since the plan")
    differences += _object_differences(saved.fingerprints, plan.fingerprints)
    if not differences and _changes(saved.document) != _changes(plan_document(plan)):
        differences.append("the changes to make are no longer the same")
    if differences:
        raise PlanError(
            "the saved plan is out of date:\n" + "\n".join(f"  {d}" for d in differences),
            hint="nothing was changed; plan again (provisioner plan -o FILE) and review it")


def _environment(name: str | None) -> str:
    return "no environment" if name is None else f"environment '{name}'"


def _object_differences(saved: Mapping[str, str], now: Mapping[str, str]) -> list[str]:
    found = []
    for key in sorted(set(saved) | set(now)):
        address = key.split("#", 1)[0]
        if key not in now:
            found.append(f"{address} is gone from the hypervisor")
        elif key not in saved:
            found.append(f"{address} appeared on the hypervisor")
        elif saved[key] != now[key]:
            found.append(f"{address} changed on the hypervisor")
    return found


def _changes(document: Mapping[str, Any]) -> list[tuple[Any, ...]]:
    return [(c["address"], c["action"], tuple(f["path"] for f in c["fields"]))
            for c in document["changes"]]
